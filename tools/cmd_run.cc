// `pocket run [-m FILE] [-p PROMPT | -f FILE] [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P] [--seed S]
//  [--ctx N] [--threads N] [--stop STR]... [--no-echo] [--quiet]` (CLI.md): generates text from a prompt,
// streaming it to stdout (the prompt echoed first, one newline at the end); statistics go to stderr.
// Ctrl-C stops generation cleanly and the statistics are still printed.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <fmt/format.h>

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
extern "C" void on_sigint(int) { g_interrupted.store(true); }

struct RunOptions {
  std::string model;
  std::string prompt;
  std::string prompt_file;
  int n_predict = 256;
  SamplerParams sampler;
  int64_t seed = -1;
  int64_t ctx = 0;
  int threads = 0;
  std::vector<std::string> stop;
  bool no_echo = false;
  bool quiet = false;
  std::string kv_type = "f32";
  std::string path = "fast";
  bool print_ids = false;
};

Result<std::string> read_prompt(const RunOptions& o) {
  if (!o.prompt_file.empty() && !o.prompt.empty()) return bad_input("-p and -f: give the prompt one way, not both");
  if (o.prompt_file.empty()) return o.prompt;
  std::ifstream in(o.prompt_file, std::ios::binary);
  if (!in) return bad_input("-f: cannot read prompt file '{}'", o.prompt_file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void print_stats(double load_s, const GenerationStats& s) {
  auto rate = [](int64_t n, double sec) { return sec > 0 ? static_cast<double>(n) / sec : 0.0; };
  std::fprintf(stderr, "\npocket: load %.1f ms | prompt %lld tokens, %.1f tok/s | generation %lld tokens, %.1f tok/s"
               " | time to first token %.1f ms | stop: %s\n", load_s * 1e3, static_cast<long long>(s.n_prompt),
               rate(s.n_prompt, s.prompt_seconds), static_cast<long long>(s.n_generated),
               rate(s.n_generated > 1 ? s.n_generated - 1 : 0, s.gen_seconds), s.ttft_seconds * 1e3,
               std::string(stop_reason_name(s.stop)).c_str());
}

Result<SessionOptions> session_options(const RunOptions& o) {
  if (o.path != "fast" && o.path != "exact") return bad_input("--path: '{}' is not fast or exact", o.path);
  if (o.ctx < 0) return bad_input("--ctx: {} is negative", o.ctx);
  SessionOptions so;
  so.n_ctx = o.ctx;
  POCKET_ASSIGN_OR_RETURN(so.kv_type, kv_type_from_flag(o.kv_type));
  so.path = o.path == "exact" ? kernels::MatmulPath::kExact : kernels::MatmulPath::kFast;
  so.n_threads = o.threads;
  return so;
}

int run_generate(RunOptions o) {
  auto prompt = read_prompt(o);
  if (!prompt.ok()) return report_error(prompt.status());
  auto so = session_options(o);
  if (!so.ok()) return report_error(so.status());
  // Ctrl-C from here on stops generation cleanly (the loop checks the flag before every token).
  auto previous = std::signal(SIGINT, on_sigint);
  struct RestoreSignal {
    void (*handler)(int);
    ~RestoreSignal() { std::signal(SIGINT, handler); }
  } restore{previous};
  const auto t_load = std::chrono::steady_clock::now();
  auto file = open_model_file(o.model);
  if (!file.ok()) return report_error(file.status());
  auto tokenizer = Tokenizer::from_gguf(*file);
  if (!tokenizer.ok()) return report_error(tokenizer.status());
  auto model = Model::load(std::move(file).value());
  if (!model.ok()) return report_error(model.status());
  Session session(*model, *so);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();

  const std::vector<int32_t> ids = tokenizer->encode(*prompt, /*add_special=*/true, /*parse_special=*/true);
  GenerateOptions go;
  go.n_predict = o.n_predict;
  go.sampler = o.sampler;
  go.sampler.seed = o.seed >= 0 ? static_cast<uint64_t>(o.seed) : std::random_device{}();
  go.stop = o.stop;
  go.cancel = &g_interrupted;
  if (!o.no_echo) {
    std::fwrite(prompt->data(), 1, prompt->size(), stdout);
    std::fflush(stdout);
  }
  auto stats = generate(session, *tokenizer, ids, go, [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  });
  std::fputc('\n', stdout);
  std::fflush(stdout);
  if (!stats.ok()) return report_error(stats.status());
  if (o.print_ids) {
    std::string line = "pocket: generated ids:";
    for (int32_t id : stats->generated) line += fmt::format(" {}", id);
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  if (!o.quiet) print_stats(load_s, *stats);
  return 0;
}

CommandRegistration reg("run", "generate text from a prompt", [](CLI::App& app) -> std::function<int()> {
  auto o = std::make_shared<RunOptions>();
  add_model_option(app, o->model);
  app.add_option("-p,--prompt", o->prompt, "prompt text");
  app.add_option("-f,--file", o->prompt_file, "read the prompt from a file");
  app.add_option("-n,--n-predict", o->n_predict, "tokens to generate, not counting the prompt (default 256; -1: "
                 "until the context is full)");
  add_sampler_options(app, o->sampler);
  app.add_option("--seed", o->seed, "sampling seed (default: random)");
  app.add_option("--ctx", o->ctx, "context size in tokens (default: the model's)");
  app.add_option("--threads", o->threads, "worker threads (default: all cores)");
  app.add_option("--stop", o->stop, "stop when this string is generated (repeatable)");
  app.add_flag("--no-echo", o->no_echo, "do not print the prompt");
  app.add_flag("--quiet", o->quiet, "no statistics on stderr");
  app.add_option("--kv-type", o->kv_type, "KV cache type: f32 (default) or f16");
  app.add_option("--path", o->path, "fast (default) or exact");
  app.add_flag("--print-ids", o->print_ids, "print the generated token ids on stderr");
  return [o] { return run_generate(*o); };
});

}  // namespace
}  // namespace pocket
