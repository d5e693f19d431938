// `pocket serve [-m FILE] [--host 127.0.0.1] [--port 8080] [--parallel 4] [--api-key KEY] [--ctx N]` (CLI.md): the
// OpenAI API under /v1 plus /health and /metrics. Prints "pocket serve: listening on http://HOST:PORT" on stdout
// once it accepts connections; one log line per request on stderr; SIGINT/SIGTERM cancel in-flight requests and
// exit 0.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "chat/chat_format.h"
#include "command.h"
#include "model/model.h"
#include "model_source.h"
#include "server/engine.h"
#include "server/http_server.h"
#include "tokenizer/tokenizer.h"

namespace pocket {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }

struct ServeOptions {
  std::string model;
  std::string host = "127.0.0.1";
  int port = 8080;
  int parallel = 4;
  std::string api_key;
  int64_t ctx = 0;
  int threads = 0;
  int queue = 64;
  int64_t batch = 512;
  std::string kv_type = "f16";  // llama-server's default: half the KV memory and reads of f32
  size_t max_body = 4u << 20;
  std::string alias;
  bool quiet = false;
};

std::string token_string(const GgufFile& gguf, const char* id_key) {
  std::optional<int64_t> id = gguf.get_int(id_key);
  const GgufValue* tokens = gguf.find("tokenizer.ggml.tokens");
  if (!id || !tokens || *id < 0 || static_cast<uint64_t>(*id) >= tokens->strs.size()) return "";
  return tokens->strs[static_cast<size_t>(*id)];
}

Status validate(const ServeOptions& o) {
  if (o.port < 0 || o.port > 65535) return bad_input("--port: {} is not in [0, 65535]", o.port);
  if (o.parallel < 1 || o.parallel > 256) return bad_input("--parallel: {} is not in [1, 256]", o.parallel);
  if (o.ctx < 0) return bad_input("--ctx: {} is negative", o.ctx);
  if (o.queue < 0) return bad_input("--queue: {} is negative", o.queue);
  if (o.batch < 1) return bad_input("--batch: {} is below 1", o.batch);
  if (auto kv = kv_type_from_flag(o.kv_type); !kv.ok()) return kv.status();
  if (o.max_body < 1024) return bad_input("--max-body: {} bytes is below 1024", o.max_body);
  return ok_status();
}

int run_serve(const ServeOptions& o) {
  if (Status st = validate(o); !st.ok()) return report_error(st);
  auto file = open_model_file(o.model);
  if (!file.ok()) return report_error(file.status());
  auto tokenizer = Tokenizer::from_gguf(*file);
  if (!tokenizer.ok()) return report_error(tokenizer.status());

  server::ApiContext ctx;
  std::string template_source = file->get_string("tokenizer.chat_template").value_or(chat::kChatMlTemplate);
  auto tmpl = chat::ChatTemplate::parse(template_source);
  if (!tmpl.ok()) {
    std::fprintf(stderr, "pocket serve: the model's chat template does not parse (%s); using ChatML\n",
                 tmpl.status().message().c_str());
    tmpl = chat::ChatTemplate::parse(chat::kChatMlTemplate);
    if (!tmpl.ok()) return report_error(tmpl.status());
  }
  ctx.bos_token = token_string(*file, "tokenizer.ggml.bos_token_id");
  ctx.eos_token = token_string(*file, "tokenizer.ggml.eos_token_id");
  ctx.model_id = !o.alias.empty()   ? o.alias
                 : o.model.empty() ? std::string("tiny-stories")
                                   : std::filesystem::path(o.model).stem().string();
  auto model = Model::load(std::move(file).value());
  if (!model.ok()) return report_error(model.status());

  server::EngineOptions eo;
  eo.n_slots = o.parallel;
  eo.n_ctx = o.ctx;
  eo.kv_type = *kv_type_from_flag(o.kv_type);  // checked above
  eo.n_threads = o.threads;
  eo.max_queue = static_cast<size_t>(o.queue);
  eo.n_batch = o.batch;
  server::Engine engine(*model, *tokenizer, eo);
  ctx.tokenizer = &engine.tokenizer();
  ctx.chat_template = &*tmpl;
  ctx.n_ctx = engine.n_ctx();

  server::ServerOptions so;
  so.host = o.host;
  so.port = o.port;
  so.api_key = o.api_key;
  so.max_body_bytes = o.max_body;
  so.n_http_threads = std::max(64, o.parallel + o.queue + 32);
  so.log_requests = !o.quiet;
  server::HttpServer http(engine, ctx, so);
  auto port = http.bind();
  if (!port.ok()) return report_error(port.status());

  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!g_stop.load() && !done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (g_stop.load()) std::fprintf(stderr, "pocket serve: shutting down\n");
    engine.cancel_all();  // in-flight requests end now (streams get their final chunk)
    http.stop();
  });
  const std::string host = o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host;
  std::printf("pocket serve: listening on http://%s:%d (model %s, %d slots, context %lld)\n", host.c_str(), *port,
              ctx.model_id.c_str(), o.parallel, static_cast<long long>(engine.n_ctx()));
  std::fflush(stdout);
  const bool ok = http.listen();
  done.store(true);
  watcher.join();
  engine.stop();
  if (!ok && !g_stop.load()) return report_error(failure("the HTTP server on {}:{} stopped unexpectedly", o.host, *port));
  return 0;
}

CommandRegistration reg("serve", "OpenAI-compatible HTTP server with continuous batching",
                        [](CLI::App& app) -> std::function<int()> {
  auto o = std::make_shared<ServeOptions>();
  add_model_option(app, o->model);
  app.add_option("--host", o->host, "address to bind (default 127.0.0.1: this machine only)");
  app.add_option("--port", o->port, "TCP port (default 8080; 0: any free port)");
  app.add_option("--parallel", o->parallel, "slots: requests generated concurrently (default 4)");
  app.add_option("--api-key", o->api_key, "require 'Authorization: Bearer KEY' on /v1 routes");
  app.add_option("--ctx", o->ctx, "context size per slot in tokens (default: the model's)");
  app.add_option("--threads", o->threads, "worker threads for the forward pass (default: all cores)");
  app.add_option("--queue", o->queue, "requests that may wait for a slot; more get 429 (default 64)");
  app.add_option("--batch", o->batch, "tokens per forward pass at most (default 512)");
  app.add_option("--kv-type", o->kv_type, "KV cache type: f16 (default, as llama-server; `pocket run --kv-type f16` gives the same tokens) or f32");
  app.add_option("--max-body", o->max_body, "request body limit in bytes (default 4 MiB)");
  app.add_option("--alias", o->alias, "model id reported by the API (default: the file name)");
  app.add_flag("--quiet", o->quiet, "no request log");
  return [o] { return run_serve(*o); };
});

}  // namespace
}  // namespace pocket
