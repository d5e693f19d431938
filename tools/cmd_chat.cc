// `pocket chat [-m FILE] [--system TEXT] [--chat-template FILE] [-n N] [--ctx N] [sampler flags] [--threads N]`:
// an interactive chat. Each turn renders the whole conversation through the chat template (with the generation
// prompt), tokenizes it and generates; generate() keeps the longest common prefix already in the KV cache, so only
// the new tokens of a turn are processed (/stats shows how many). Line editing and history with libedit when stdin
// is a terminal; piped stdin is a batch of user turns (one per line). Ctrl-C stops a reply (the partial reply stays
// in the conversation), Ctrl-D quits. Replies go to stdout; everything else (stats, command output) to stderr.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "chat/chat_format.h"
#include "chat_line_reader.h"
#include "chat_util.h"
#include "command.h"
#include "engine/generator.h"
#include "engine/session.h"
#include "model/model.h"
#include "model_source.h"
#include "sampler_options.h"
#include "tokenizer/tokenizer.h"

namespace pocket {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_chat_sigint(int) { g_interrupted.store(true); }

struct ChatOptions {
  std::string model;
  std::string system;
  std::string template_file;
  int n_predict = 1024;
  SamplerParams sampler;
  int64_t seed = -1;
  int64_t ctx = 0;
  int threads = 0;
  std::vector<std::string> stop;
  std::string kv_type = "f32";
  int delay_ms = 0;
};

// What a chat needs once the model is loaded.
struct ChatModel {
  std::shared_ptr<const Model> model;
  std::optional<Tokenizer> tokenizer;
  chat::ChatTemplate chat_template;
  std::string template_origin;  // "the model's", "FILE", "ChatML (the model has none)"
  std::string bos_token, eos_token;
  std::vector<std::string> stop;  // --stop plus, for the ChatML fallback, its turn markers
};

struct TurnStats {
  int64_t n_prompt = 0, n_evaluated = 0, n_generated = 0;
  double prompt_seconds = 0, gen_seconds = 0;
  StopReason stop = StopReason::kLength;
};

const char* const kHelp =
    "commands:\n"
    "  /help           this list\n"
    "  /reset          forget the conversation (the system prompt stays)\n"
    "  /system TEXT    set the system prompt (/system alone shows it)\n"
    "  /save FILE      write the conversation as JSON (refuses to overwrite an existing file)\n"
    "  /load FILE      replace the conversation with one from a JSON file\n"
    "  /stats          turns, context use, prompt tokens processed and reused, speed\n"
    "  /quit           quit (as Ctrl-D)\n"
    "Ctrl-C stops a reply; a line ending with \\ continues on the next line; //text sends /text.\n";

// Informational output goes to stderr, after whatever the reply stream printed.
template <typename... Args>
void say(fmt::format_string<Args...> format, Args&&... args) {
  std::fflush(stdout);
  std::string text = fmt::format(format, std::forward<Args>(args)...);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

Result<ChatModel> load_chat_model(const ChatOptions& o) {
  ChatModel cm;
  POCKET_ASSIGN_OR_RETURN(GgufFile file, open_model_file(o.model));
  POCKET_ASSIGN_OR_RETURN(Tokenizer tokenizer, Tokenizer::from_gguf(file));
  cm.tokenizer.emplace(std::move(tokenizer));
  cm.bos_token = vocab_token(file, "tokenizer.ggml.bos_token_id");
  cm.eos_token = vocab_token(file, "tokenizer.ggml.eos_token_id");
  std::string source;
  std::string where;
  if (!o.template_file.empty()) {
    POCKET_ASSIGN_OR_RETURN(source, read_text_file(o.template_file, "--chat-template"));
    cm.template_origin = o.template_file;
    where = "--chat-template " + o.template_file;
  } else if (auto t = file.get_string("tokenizer.chat_template")) {
    source = *t;
    cm.template_origin = "the model's tokenizer.chat_template";
    where = "tokenizer.chat_template";
  } else {
    source = chat::kChatMlTemplate;
    cm.template_origin = "ChatML (the model has no tokenizer.chat_template)";
    where = "ChatML fallback";
    // Models without a template rarely have <|im_end|> as an end-of-generation token: stop on the markers.
    cm.stop = {"<|im_end|>", "<|im_start|>"};
  }
  auto parsed = chat::ChatTemplate::parse(source);
  if (!parsed.ok()) return bad_input("{}: {}", where, parsed.status().message());
  cm.chat_template = std::move(parsed).value();
  cm.stop.insert(cm.stop.end(), o.stop.begin(), o.stop.end());
  POCKET_ASSIGN_OR_RETURN(cm.model, Model::load(std::move(file)));
  return cm;
}

class Chat {
 public:
  Chat(const ChatOptions& o, ChatModel& cm, Session& session, bool terminal)
      : o_(o), cm_(cm), tokenizer_(*cm.tokenizer), session_(session), terminal_(terminal) {
    if (!o.system.empty()) conv_.messages.push_back({{"role", "system"}, {"content", o.system}});
  }

  // Renders the conversation as it would be for the next turn; exit 2 when the template cannot render it.
  Status check_template() {
    Conversation saved = conv_;
    conv_.messages.push_back({{"role", "user"}, {"content", "Hello"}});
    auto ids = render_prompt();
    conv_ = std::move(saved);
    if (!ids.ok()) return bad_input("chat template ({}) cannot render a conversation: {}", cm_.template_origin,
                                    ids.status().message());
    return ok_status();
  }

  int run() {
    auto reader = LineReader::create(terminal_, &g_interrupted);
    if (terminal_) {
      say("pocket chat: context {} tokens, template: {}\nType /help for commands, Ctrl-C to stop a reply, "
          "Ctrl-D to quit.\n", session_.n_ctx(), cm_.template_origin);
    }
    for (;;) {
      std::string text;
      LineReader::Result r = read_input(*reader, text);
      if (r == LineReader::Result::kEndOfInput) break;
      if (r == LineReader::Result::kInterrupted) continue;
      if (text.find_first_not_of(" \t\r\n") == std::string::npos) continue;
      if (text[0] == '/' && text.compare(0, 2, "//") != 0) {
        if (!command(text)) break;
        continue;
      }
      if (text.compare(0, 2, "//") == 0) text.erase(0, 1);
      turn(text);
    }
    if (terminal_) say("\n");
    return 0;
  }

 private:
  // One user input: a line, or several joined when a line ends with a backslash.
  LineReader::Result read_input(LineReader& reader, std::string& text) {
    text.clear();
    std::string line;
    for (const char* prompt = "> ";; prompt = "... ") {
      g_interrupted.store(false);
      LineReader::Result r = reader.read(prompt, line);
      if (r == LineReader::Result::kInterrupted) {
        g_interrupted.store(false);
        say("^C\n");
        return r;
      }
      if (r == LineReader::Result::kEndOfInput) return text.empty() ? r : LineReader::Result::kLine;
      if (!line.empty()) reader.add_history(line);
      if (!line.empty() && line.back() == '\\') {
        line.pop_back();
        text += line + "\n";
        continue;
      }
      text += line;
      return r;
    }
  }

  Result<std::vector<int32_t>> render_prompt() const {
    chat::ChatRequest req;
    req.messages = conv_.messages;
    req.tools = conv_.tools;
    req.add_generation_prompt = true;
    req.bos_token = cm_.bos_token;
    req.eos_token = cm_.eos_token;
    req.now = chat::local_now();
    POCKET_ASSIGN_OR_RETURN(std::string text, cm_.chat_template.render(chat::chat_context(req), req.now));
    // Special tokens written by the template (e.g. <|im_start|>) are parsed; BOS is added unless the template
    // already wrote it. EOS is never appended to a prompt.
    std::vector<int32_t> ids = tokenizer_.encode(text, /*add_special=*/false, /*parse_special=*/true);
    const int32_t bos = tokenizer_.bos_id();
    if (tokenizer_.add_bos() && bos >= 0 && (ids.empty() || ids[0] != bos)) ids.insert(ids.begin(), bos);
    return ids;
  }

  void turn(const std::string& user_text) {
    conv_.messages.push_back({{"role", "user"}, {"content", user_text}});
    auto ids = render_prompt();
    if (!ids.ok()) {
      conv_.messages.erase(conv_.messages.end() - 1);
      say("pocket: the chat template failed, the message was not sent: {}\n", ids.status().message());
      return;
    }
    if (static_cast<int64_t>(ids->size()) >= session_.n_ctx()) {
      conv_.messages.erase(conv_.messages.end() - 1);
      say("pocket: context full: the conversation is {} tokens and the context holds {}; the message was not "
          "sent. Use /reset to start over, or restart with a larger --ctx.\n", ids->size(), session_.n_ctx());
      return;
    }
    GenerateOptions go;
    go.n_predict = o_.n_predict;
    go.sampler = o_.sampler;
    go.sampler.seed = o_.seed >= 0 ? static_cast<uint64_t>(o_.seed) + static_cast<uint64_t>(turns_)
                                   : std::random_device{}();
    go.stop = cm_.stop;
    go.cancel = &g_interrupted;
    g_interrupted.store(false);
    std::string reply;
    auto stats = generate(session_, tokenizer_, *ids, go, [&](std::string_view piece) {
      reply += piece;
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      if (o_.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(o_.delay_ms));
    });
    if (reply.empty() || reply.back() != '\n') std::fputc('\n', stdout);
    std::fflush(stdout);
    g_interrupted.store(false);  // a Ctrl-C after the last token is not an interruption
    if (!stats.ok()) {
      conv_.messages.erase(conv_.messages.end() - 1);
      say("pocket: {}; the message was not sent\n", stats.status().message());
      return;
    }
    conv_.messages.push_back({{"role", "assistant"}, {"content", reply}});
    ++turns_;
    last_ = {stats->n_prompt, stats->n_prompt_evaluated, stats->n_generated, stats->prompt_seconds,
             stats->gen_seconds, stats->stop};
    total_prompt_ += stats->n_prompt;
    total_evaluated_ += stats->n_prompt_evaluated;
    total_generated_ += stats->n_generated;
    report_stop(stats->stop);
  }

  void report_stop(StopReason stop) {
    if (stop == StopReason::kCancelled) {
      say("[interrupted: the partial reply is kept in the conversation]\n");
    } else if (stop == StopReason::kContextFull) {
      say("[context full ({} tokens): use /reset to start over, or restart with a larger --ctx]\n",
          session_.n_ctx());
    } else if (stop == StopReason::kLength) {
      say("[reply cut at {} tokens (-n)]\n", o_.n_predict);
    }
  }

  // Returns false to quit.
  bool command(const std::string& text) {
    const size_t space = text.find_first_of(" \t");
    const std::string name = text.substr(0, space);
    std::string arg = space == std::string::npos ? "" : text.substr(space + 1);
    arg.erase(0, arg.find_first_not_of(" \t"));
    arg.erase(arg.find_last_not_of(" \t\r\n") + 1);
    if (name == "/quit" || name == "/exit") return false;
    if (name == "/help") {
      say("{}", kHelp);
    } else if (name == "/reset") {
      reset();
    } else if (name == "/system") {
      set_system(arg);
    } else if (name == "/save") {
      save(arg);
    } else if (name == "/load") {
      load(arg);
    } else if (name == "/stats") {
      print_stats();
    } else {
      say("unknown command {}; /help lists the commands (//text sends /text as a message)\n", name);
    }
    return true;
  }

  void reset() {
    nlohmann::ordered_json kept = nlohmann::ordered_json::array();
    if (!conv_.messages.empty() && conv_.messages[0].value("role", "") == "system") kept.push_back(conv_.messages[0]);
    conv_.messages = std::move(kept);
    session_.reset();
    turns_ = 0;
    last_ = TurnStats{};
    total_prompt_ = total_evaluated_ = total_generated_ = 0;
    say("conversation cleared{}\n", conv_.messages.empty() ? "" : " (the system prompt stays)");
  }

  void set_system(const std::string& text) {
    const bool has = !conv_.messages.empty() && conv_.messages[0].value("role", "") == "system";
    if (text.empty()) {
      if (has && conv_.messages[0]["content"].is_string()) {
        say("system prompt: {}\n", conv_.messages[0]["content"].get<std::string>());
      } else {
        say("no system prompt; /system TEXT sets one\n");
      }
      return;
    }
    nlohmann::ordered_json msg = {{"role", "system"}, {"content", text}};
    if (has) {
      conv_.messages[0] = msg;
    } else {
      conv_.messages.insert(conv_.messages.begin(), msg);
    }
    say("system prompt set; it applies from the next turn (the conversation is kept)\n");
  }

  void save(const std::string& path) {
    if (path.empty()) return say("usage: /save FILE\n");
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) return say("/save {}: the file exists; not overwritten (choose another name)\n", path);
      return say("/save {}: cannot create the file: {}\n", path, std::strerror(errno));
    }
    const std::string json = conversation_to_json(conv_);
    size_t done = 0;
    while (done < json.size()) {
      ssize_t n = ::write(fd, json.data() + done, json.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    const bool ok = done == json.size() && ::close(fd) == 0;
    if (!ok) return say("/save {}: write error: {}\n", path, std::strerror(errno));
    say("saved {} messages to {}\n", conv_.messages.size(), path);
  }

  void load(const std::string& path) {
    if (path.empty()) return say("usage: /load FILE\n");
    auto text = read_text_file(path, "/load");
    if (!text.ok()) return say("{}\n", text.status().message());
    auto conv = parse_conversation(*text, "/load " + path);
    if (!conv.ok()) return say("{}\n", conv.status().message());
    conv_ = std::move(conv).value();
    int64_t users = 0;
    for (const auto& m : conv_.messages) users += m.value("role", "") == "user" ? 1 : 0;
    turns_ = users;
    say("loaded {} messages from {} (the cached prefix they share with the current context is reused)\n",
        conv_.messages.size(), path);
  }

  void print_stats() const {
    auto rate = [](int64_t n, double sec) { return sec > 0 ? static_cast<double>(n) / sec : 0.0; };
    say("turns: {} ({} messages)\n", turns_, conv_.messages.size());
    say("tokens in context: {} / {}\n", session_.history().size(), session_.n_ctx());
    if (last_.n_prompt == 0) return say("no turn yet\n");
    say("last turn: prompt {} tokens, prompt tokens processed this turn: {} (reused {}), generated {} (stop: {})\n",
        last_.n_prompt, last_.n_evaluated, last_.n_prompt - last_.n_evaluated, last_.n_generated,
        stop_reason_name(last_.stop));
    say("speed last turn: prefill {:.1f} tok/s, decode {:.1f} tok/s\n", rate(last_.n_evaluated, last_.prompt_seconds),
        rate(last_.n_generated > 1 ? last_.n_generated - 1 : 0, last_.gen_seconds));
    say("all turns: prompt tokens processed {} of {} (reused {}), generated {}\n", total_evaluated_, total_prompt_,
        total_prompt_ - total_evaluated_, total_generated_);
  }

  const ChatOptions& o_;
  ChatModel& cm_;
  const Tokenizer& tokenizer_;
  Session& session_;
  bool terminal_;
  Conversation conv_;
  int64_t turns_ = 0;
  TurnStats last_;
  int64_t total_prompt_ = 0, total_evaluated_ = 0, total_generated_ = 0;
};

Result<SessionOptions> chat_session_options(const ChatOptions& o) {
  if (o.ctx < 0) return bad_input("--ctx: {} is negative", o.ctx);
  if (o.threads < 0) return bad_input("--threads: {} is negative", o.threads);
  if (o.delay_ms < 0 || o.delay_ms > 60'000) return bad_input("--delay-ms: {} is not in 0..60000", o.delay_ms);
  SessionOptions so;
  so.n_ctx = o.ctx;
  POCKET_ASSIGN_OR_RETURN(so.kv_type, kv_type_from_flag(o.kv_type));
  so.n_threads = o.threads;
  return so;
}

int run_chat(const ChatOptions& o) {
  auto so = chat_session_options(o);
  if (!so.ok()) return report_error(so.status());
  auto cm = load_chat_model(o);
  if (!cm.ok()) return report_error(cm.status());
  Session session(cm->model, *so);
  const bool terminal = ::isatty(STDIN_FILENO) != 0;
  Chat chat(o, *cm, session, terminal);
  if (Status st = chat.check_template(); !st.ok()) return report_error(st);
  // Ctrl-C sets a flag: it stops the reply (or the line being edited), never the program. No SA_RESTART, so a
  // blocked read returns and the prompt can react.
  struct sigaction action {};
  struct sigaction previous {};
  action.sa_handler = on_chat_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGINT, &action, &previous);
  const int code = chat.run();
  sigaction(SIGINT, &previous, nullptr);
  return code;
}

CommandRegistration reg("chat", "interactive chat with the model (line editing, history, /help for commands)",
                        [](CLI::App& app) -> std::function<int()> {
  auto o = std::make_shared<ChatOptions>();
  add_model_option(app, o->model);
  app.add_option("--system", o->system, "system prompt");
  app.add_option("--chat-template", o->template_file, "Jinja chat template file (overrides the model's)");
  app.add_option("-n,--n-predict", o->n_predict, "most tokens per reply (default 1024; -1: until the context is "
                 "full)");
  add_sampler_options(app, o->sampler);
  app.add_option("--seed", o->seed, "sampling seed (default: random; turn i uses seed + i)");
  app.add_option("--ctx", o->ctx, "context size in tokens (default: the model's)");
  app.add_option("--threads", o->threads, "worker threads (default: all cores)");
  app.add_option("--stop", o->stop, "also stop a reply when this string is generated (repeatable)");
  app.add_option("--kv-type", o->kv_type, "KV cache type: f32 (default) or f16");
  app.add_option("--delay-ms", o->delay_ms, "for tests only: pause N ms after each streamed piece of a reply, so "
                 "that replies are slow enough to interrupt (default 0)");
  return [o] { return run_chat(*o); };
});

}  // namespace
}  // namespace pocket
