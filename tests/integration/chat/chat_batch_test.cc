// `pocket chat` with piped stdin (not a terminal): each line is one user turn, replies on stdout, messages on
// stderr, exit 0 at end of input. Covers prefix reuse across turns, /save and /load round trip, /save refusing to
// overwrite, --chat-template, context full, unknown commands and the exit-2 errors.
#include <filesystem>
#include <string>

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

// Greedy, so every run of the same conversation gives the same replies.
const std::string kFlags = " chat --temp 0 -n 24 --ctx 1024 --threads 2";

ordered_json load_json(const std::string& path) { return ordered_json::parse(testing::read_file(path)); }

TEST(ChatBatch, TurnsReuseTheCachedPrefix) {
  TempDir dir;
  const std::string saved = dir.file("conv.json");
  auto r = run_command(pocket_bin() + kFlags, "Hello there\n\nWhat did the dog do?\n/stats\n/save " + saved + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("pocket:"), std::string::npos) << r.err;  // no error
  const ordered_json conv = load_json(saved)["messages"];
  ASSERT_EQ(conv.size(), 4u);  // the empty line is not a turn
  EXPECT_EQ(conv[0]["role"], "user");
  EXPECT_EQ(conv[0]["content"], "Hello there");
  EXPECT_EQ(conv[1]["role"], "assistant");
  EXPECT_EQ(conv[2]["content"], "What did the dog do?");
  // stdout is exactly the two replies, each ended by a newline.
  const std::string r1 = conv[1]["content"], r2 = conv[3]["content"];
  ASSERT_FALSE(r1.empty());
  ASSERT_FALSE(r2.empty());
  EXPECT_EQ(r.out, r1 + (r1.back() == '\n' ? "" : "\n") + r2 + (r2.back() == '\n' ? "" : "\n"));

  // Turn 2 processed only what follows turn 1's cached prompt and reply.
  const auto s = parse_last_stats(r.err);
  EXPECT_EQ(s.turns, 2);
  EXPECT_EQ(s.messages, 4);
  EXPECT_EQ(s.n_ctx, 1024);
  const int64_t t1 = count_prompt_tokens(ordered_json::array({conv[0]}), dir.path());
  const int64_t t2 = count_prompt_tokens(ordered_json::array({conv[0], conv[1], conv[2]}), dir.path());
  EXPECT_EQ(s.prompt, t2);
  EXPECT_EQ(s.processed + s.reused, t2);
  EXPECT_GT(s.reused, t1) << "turn 1's prompt and reply should be reused";
  EXPECT_LT(s.processed, t2 - t1) << r.err;
}

TEST(ChatBatch, SaveLoadRoundTripAndNoOverwrite) {
  TempDir dir;
  const std::string a = dir.file("a.json"), b = dir.file("b.json");
  auto r1 = run_command(pocket_bin() + kFlags + " --system " + quote("You are terse."),
                        "Hello there\n/save " + a + "\n");
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  const ordered_json first = load_json(a);
  ASSERT_EQ(first["messages"].size(), 3u);
  EXPECT_EQ(first["messages"][0], (ordered_json{{"role", "system"}, {"content", "You are terse."}}));

  // /load replaces the conversation (and its system prompt); /save refuses to overwrite.
  auto r2 = run_command(pocket_bin() + kFlags, "/load " + a + "\n/stats\nAnd then?\n/save " + a + "\n/save " + b +
                                                   "\n");
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_NE(r2.err.find("loaded 3 messages"), std::string::npos) << r2.err;
  EXPECT_NE(r2.err.find("turns: 1 (3 messages)"), std::string::npos) << r2.err;
  EXPECT_NE(r2.err.find("the file exists; not overwritten"), std::string::npos) << r2.err;
  EXPECT_EQ(load_json(a), first);
  const ordered_json second = load_json(b)["messages"];
  ASSERT_EQ(second.size(), 5u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(second[i], first["messages"][i]);
  EXPECT_EQ(second[3]["content"], "And then?");

  // A bare array of messages loads too; malformed files are reported, not fatal.
  chat_test::write_file(dir.file("array.json"), ordered_json::array({first["messages"][1]}).dump());
  chat_test::write_file(dir.file("bad.json"), "{\"messages\": [1, 2]");
  auto r3 = run_command(pocket_bin() + kFlags, "/load " + dir.file("bad.json") + "\n/load " +
                                                   dir.file("missing.json") + "\n/load " + dir.file("array.json") +
                                                   "\n/stats\n");
  ASSERT_EQ(r3.exit_code, 0) << r3.err;
  EXPECT_NE(r3.err.find("malformed JSON"), std::string::npos) << r3.err;
  EXPECT_NE(r3.err.find("missing.json: cannot open"), std::string::npos) << r3.err;
  EXPECT_NE(r3.err.find("turns: 1 (1 messages)"), std::string::npos) << r3.err;
}

TEST(ChatBatch, ChatTemplateOverrideIsUsed) {
  TempDir dir;
  const std::string tmpl =
      testing::shared_dir() + "/templates/templates/mistralai-Mistral-Nemo-Instruct-2407.jinja";
  const std::string saved = dir.file("conv.json");
  auto r = run_command(pocket_bin() + kFlags + " --chat-template " + quote(tmpl), "Hi\n/stats\n/save " + saved +
                                                                                    "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const ordered_json conv = load_json(saved)["messages"];
  ASSERT_EQ(conv.size(), 2u);
  const auto s = parse_last_stats(r.err);
  // The same prompt as `pocket template` renders with that template. The template writes bos_token itself:
  // chat parses that "<s>" as the BOS token and adds no other; here it is left out of the text and
  // `pocket tokenize` adds BOS instead (the same ids).
  EXPECT_EQ(s.prompt, count_prompt_tokens(ordered_json::array({conv[0]}), dir.path(),
                                          "--chat-template " + quote(tmpl) + " --bos-token '' --eos-token '</s>'"));
  EXPECT_NE(s.prompt, count_prompt_tokens(ordered_json::array({conv[0]}), dir.path()));  // not ChatML
}

TEST(ChatBatch, ContextFullAndUnknownCommandsAreMessages) {
  auto r = run_command(pocket_bin() + " chat --temp 0 -n 8 --ctx 48 --threads 2",
                       "/frobnicate\nTell me a very long story about a little dog who went to the park and met a "
                       "cat and a bird and a frog and they all played together\nhi\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("unknown command /frobnicate"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("context full"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--ctx"), std::string::npos) << r.err;
}

TEST(ChatBatch, BadModelOrTemplateExits2) {
  TempDir dir;
  chat_test::write_file(dir.file("bad.jinja"), "{% if %}");
  chat_test::write_file(dir.file("raises.jinja"), "{{ raise_exception('no chat here') }}");
  chat_test::write_file(dir.file("junk.gguf"), "this is not a gguf file");
  struct Case {
    std::string args, expect;
  } cases[] = {
      {"--chat-template " + dir.file("bad.jinja"), "bad.jinja"},
      {"--chat-template " + dir.file("raises.jinja"), "no chat here"},
      {"--chat-template " + dir.file("missing.jinja"), "missing.jinja: cannot open"},
      {"-m " + dir.file("junk.gguf"), "junk.gguf"},
      {"--ctx -5", "--ctx"},
  };
  for (const auto& c : cases) {
    auto r = run_command(pocket_bin() + " chat " + c.args, "hello\n");
    EXPECT_EQ(r.exit_code, 2) << c.args << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << c.args;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << ": " << r.err;
  }
}

}  // namespace
}  // namespace pocket
