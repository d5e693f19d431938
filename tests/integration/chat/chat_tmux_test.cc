// `pocket chat` on a real terminal, driven through tmux (private server socket per test): three turns with replies
// on screen, the turn-3 prompt processing exactly its new tokens (checked against `pocket template` + `pocket
// tokenize`), history recall with the Up arrow, Ctrl-C at the prompt and in the middle of a reply (the partial reply
// is kept, the program goes on), an unknown command, and Ctrl-D quitting with exit code 0.
// Synchronisation polls the screen (up to 90 s per step) so that a slow, loaded machine only makes it slower.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat_test_util.h"
#include "test_support.h"

namespace pocket {
namespace {

using chat_test::count_prompt_tokens;
using chat_test::parse_last_stats;
using chat_test::quote;
using chat_test::TempDir;
using nlohmann::ordered_json;
using testing::pocket_bin;
using testing::run_command;

constexpr auto kTimeout = std::chrono::seconds(90);

std::string rstrip(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\n')) s.pop_back();
  return s;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(rstrip(line));
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// One tmux server (its own socket) running one command in a detached 200x50 session.
class TmuxChat {
 public:
  TmuxChat(const std::string& name, const std::string& dir, const std::string& command) {
    static int counter = 0;
    socket_ = "pocket-chat-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    const std::string conf = dir + "/" + socket_ + ".conf";
    chat_test::write_file(conf, "set -g remain-on-exit on\nset -g history-limit 20000\n");
    // The exit status is written by a wrapper shell (tmux's own pane_dead_status can stay unset when it has not
    // reaped the child yet); the shell ignores SIGINT so that Ctrl-C reaches only pocket (which sets its handler).
    exit_file_ = dir + "/" + socket_ + ".exit";
    const std::string wrapped = "trap '' INT; " + command + "; echo $? > " + quote(exit_file_);
    auto r = tmux("-f " + quote(conf) + " new-session -d -s chat -x 200 -y 50 " +
                  quote("exec sh -c " + quote(wrapped)));
    EXPECT_EQ(r.exit_code, 0) << "tmux new-session: " << r.err;
    socket_path_ = rstrip(tmux("display-message -p '#{socket_path}'").out);
  }
  ~TmuxChat() {
    tmux("kill-server");
    std::error_code ec;  // tmux may leave its socket file behind
    if (!socket_path_.empty()) std::filesystem::remove(socket_path_, ec);
  }

  testing::CommandResult tmux(const std::string& args) {
    return run_command("env -u TMUX tmux -L " + socket_ + " " + args + " </dev/null");
  }
  // Types `text` literally, then Enter.
  void type_line(const std::string& text) {
    tmux("send-keys -t chat -l " + quote(text));
    tmux("send-keys -t chat Enter");
  }
  void key(const std::string& name) { tmux("send-keys -t chat " + name); }
  // The whole pane, scrollback included, wrapped lines joined.
  std::string screen() { return tmux("capture-pane -p -J -S - -t chat").out; }

  // Polls the screen until `done(screen)`; false (and the screen in the failure message) on timeout.
  bool wait_for(const std::function<bool(const std::string&)>& done, const std::string& what) {
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    std::string s;
    while (std::chrono::steady_clock::now() < deadline) {
      s = screen();
      if (done(s)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "timed out waiting for " << what << "; screen:\n" << s;
    return false;
  }
  // Waits until the prompt is waiting for input after `n_inputs` entered lines: n_inputs + 1 prompt lines, the last
  // one empty.
  bool wait_ready(int n_inputs) {
    return wait_for([&](const std::string& s) {
      auto lines = lines_of(s);
      int prompts = 0;
      for (const auto& l : lines) prompts += l == ">" || l.rfind("> ", 0) == 0 ? 1 : 0;
      return prompts == n_inputs + 1 && !lines.empty() && lines.back() == ">";
    }, "the prompt after " + std::to_string(n_inputs) + " inputs");
  }
  bool wait_last_line(const std::string& expected) {
    return wait_for([&](const std::string& s) {
      auto lines = lines_of(s);
      return !lines.empty() && lines.back() == expected;
    }, "last line '" + expected + "'");
  }
  // Waits for the program to exit; its exit status.
  int wait_exit() {
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(exit_file_);
      std::string line;
      if (in && std::getline(in, line) && !line.empty()) return std::atoi(line.c_str());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "pocket chat did not exit; screen:\n" << screen();
    return -1;
  }

 private:
  std::string socket_;
  std::string socket_path_;
  std::string exit_file_;
};

// `text` as the screen shows it: lines without trailing spaces, no trailing empty lines.
std::string as_shown(const std::string& text) {
  std::string out;
  for (const auto& l : lines_of(text)) out += l + "\n";
  return out;
}

// The reply printed after the line "> <input>": the lines up to the next prompt or [...] notice.
std::string reply_after(const std::string& screen, const std::string& input) {
  auto lines = lines_of(screen);
  std::string reply;
  bool in = false;
  for (const auto& l : lines) {
    if (in && (l == ">" || l.rfind("> ", 0) == 0 || l.rfind("[", 0) == 0)) break;
    if (in) reply += l + "\n";
    if (l == "> " + input) in = true;
  }
  return reply;
}

bool have_tmux() { return run_command("command -v tmux").exit_code == 0; }

TEST(ChatTmux, ThreeTurnsHistoryAndPrefixReuse) {
  ASSERT_TRUE(have_tmux()) << "tmux is needed for this test";
  TempDir dir;
  const std::string saved = dir.file("conv.json");
  TmuxChat t("turns", dir.path(), pocket_bin() + " chat --temp 0 -n 32 --ctx 2048 --threads 2");
  ASSERT_TRUE(t.wait_ready(0));
  const std::vector<std::string> users = {"Hello there", "What did the dog do?", "Where did they go next?"};
  t.type_line(users[0]);
  ASSERT_TRUE(t.wait_ready(1));
  t.type_line(users[1]);
  ASSERT_TRUE(t.wait_ready(2));
  t.type_line("/stats");
  ASSERT_TRUE(t.wait_ready(3));
  const auto after2 = parse_last_stats(t.screen());
  t.type_line(users[2]);
  ASSERT_TRUE(t.wait_ready(4));
  t.type_line("/stats");
  ASSERT_TRUE(t.wait_ready(5));
  const std::string screen3 = t.screen();
  const auto after3 = parse_last_stats(screen3);
  t.type_line("/save " + saved);
  ASSERT_TRUE(t.wait_ready(6));

  // History: Up recalls the previous lines, newest first; Ctrl-C at the prompt discards the line.
  t.key("Up");
  ASSERT_TRUE(t.wait_last_line("> /save " + saved));
  t.key("Up");
  ASSERT_TRUE(t.wait_last_line("> /stats"));
  t.key("Up");
  ASSERT_TRUE(t.wait_last_line("> " + users[2]));
  t.key("C-c");
  ASSERT_TRUE(t.wait_ready(7));
  t.key("Up");  // ...and Enter sends a recalled line
  ASSERT_TRUE(t.wait_last_line("> /save " + saved));
  t.key("Enter");
  ASSERT_TRUE(t.wait_ready(8));
  EXPECT_NE(t.screen().find("the file exists; not overwritten"), std::string::npos);
  t.key("C-d");
  EXPECT_EQ(t.wait_exit(), 0);

  // The screen shows each reply, and the saved conversation holds exactly those replies.
  const ordered_json conv = ordered_json::parse(testing::read_file(saved))["messages"];
  ASSERT_EQ(conv.size(), 6u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(conv[2 * i]["content"], users[i]);
    const std::string reply = conv[2 * i + 1]["content"];
    EXPECT_FALSE(reply.empty());
    EXPECT_EQ(reply_after(screen3, users[i]), as_shown(reply)) << screen3;
  }

  // Turn 3 evaluated only the tokens that were not in the cache after turn 2: everything cached was reused
  // (turn 2's prompt and reply), and the rest is what turn 3 added.
  EXPECT_EQ(after2.turns, 2);
  EXPECT_EQ(after3.turns, 3);
  EXPECT_EQ(after3.n_ctx, 2048);
  const int64_t t2 = count_prompt_tokens(ordered_json::array({conv[0], conv[1], conv[2]}), dir.path());
  const int64_t t3 =
      count_prompt_tokens(ordered_json::array({conv[0], conv[1], conv[2], conv[3], conv[4]}), dir.path());
  EXPECT_EQ(after3.prompt, t3);
  EXPECT_GT(after2.in_context, t2);  // turn 2's prompt and (most of) its reply
  EXPECT_EQ(after3.reused, after2.in_context);
  EXPECT_EQ(after3.processed, t3 - after2.in_context);
  EXPECT_LT(after3.processed, t3 - t2);
  std::printf("turn 3: prompt %lld tokens, processed %lld, reused %lld (turn-2 prompt %lld tokens)\n",
              static_cast<long long>(t3), static_cast<long long>(after3.processed),
              static_cast<long long>(after3.reused), static_cast<long long>(t2));
}

TEST(ChatTmux, CtrlCStopsTheReplyNotTheProgram) {
  ASSERT_TRUE(have_tmux()) << "tmux is needed for this test";
  TempDir dir;
  const std::string saved = dir.file("conv.json");
  // 2000 tokens at >= 100 ms each: the reply would take minutes unless interrupted.
  TmuxChat t("ctrlc", dir.path(), pocket_bin() + " chat --temp 0 -n 2000 --ctx 2048 --threads 2 --delay-ms 100");
  ASSERT_TRUE(t.wait_ready(0));
  const std::string user = "Tell me a story";
  t.type_line(user);
  ASSERT_TRUE(t.wait_for([&](const std::string& s) { return rstrip(reply_after(s, user)).size() >= 8; },
                         "the reply to start"));
  t.key("C-c");
  ASSERT_TRUE(t.wait_ready(1));
  std::string s = t.screen();
  EXPECT_NE(s.find("[interrupted"), std::string::npos) << s;
  t.type_line("/frobnicate");
  ASSERT_TRUE(t.wait_ready(2));
  t.type_line("/save " + saved);
  ASSERT_TRUE(t.wait_ready(3));
  t.type_line("/stats");
  ASSERT_TRUE(t.wait_ready(4));
  s = t.screen();
  EXPECT_NE(s.find("unknown command /frobnicate"), std::string::npos) << s;
  const auto stats = parse_last_stats(s);
  EXPECT_EQ(stats.turns, 1);
  EXPECT_EQ(stats.messages, 2);
  t.key("C-d");
  EXPECT_EQ(t.wait_exit(), 0);

  // The partial reply is in the conversation: what was on screen before ^C.
  const ordered_json conv = ordered_json::parse(testing::read_file(saved))["messages"];
  ASSERT_EQ(conv.size(), 2u);
  const std::string reply = conv[1]["content"];
  EXPECT_GE(reply.size(), 8u);
  std::string shown = reply_after(s, user);
  const size_t echo = shown.find("^C");  // the terminal's echo of Ctrl-C, at the end or just before the last piece
  ASSERT_NE(echo, std::string::npos) << shown;
  shown.erase(echo, 2);
  EXPECT_EQ(as_shown(shown), as_shown(reply));
}

}  // namespace
}  // namespace pocket
