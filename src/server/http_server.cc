#include "server/http_server.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

#include <sys/socket.h>

#include <fmt/format.h>
#include <httplib.h>

namespace pocket::server {
namespace {

using Clock = std::chrono::steady_clock;
using httplib::DataSink;
using httplib::Request;
using httplib::Response;

// What the request log line reports; handler and logger run on the same worker thread.
struct RequestLog {
  Clock::time_point start;
  int64_t prompt_tokens = -1;
  int64_t completion_tokens = -1;
  std::string finish;
};
thread_local RequestLog t_log;

uint64_t random_u64() {
  thread_local std::mt19937_64 gen(std::random_device{}());
  return gen();
}

std::string new_id(const char* prefix) { return fmt::format("{}-{:016x}{:08x}", prefix, random_u64(), random_u64() >> 32); }

void send_json(Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void send_error(Response& res, const ApiError& e) { send_json(res, e.status, error_body(e)); }

std::string sse(const Json& j) { return "data: " + dump(j) + "\n\n"; }

std::string endpoint_label(const std::string& path) {
  for (const char* known : {"/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics"}) {
    if (path == known) return known;
  }
  return "other";
}

// A streamed response's state, shared by httplib's content provider calls.
struct StreamState {
  std::shared_ptr<RequestHandle> handle;
  ApiRequest req;
  ResponseMeta meta;
  bool first = true;
  std::string text;                     // non-streamed: the result so far
  std::vector<TokenLogprob> logprobs;
  Clock::time_point last_write = Clock::now();
};

// Writes the next piece of an SSE stream; false (and the request cancelled) when the client is gone.
bool pump_stream(StreamState& st, DataSink& sink, const Tokenizer& tok) {
  std::string out;
  if (st.first && st.req.endpoint == Endpoint::kChat) {
    // The role chunk right away, as OpenAI does (the client sees the stream open before the first token).
    out = sse(stream_chunk(st.req, st.meta, "", {}, std::nullopt, /*first=*/true, tok));
    st.first = false;
    if (!sink.write(out.data(), out.size())) return st.handle->cancel(), false;
    return true;
  }
  Event e;
  while (!st.handle->wait(e, std::chrono::milliseconds(100))) {
    if (!sink.is_writable()) return st.handle->cancel(), false;
  }
  if (e.final && e.finish == FinishReason::kError) {
    out = sse(error_body(ApiError{500, e.error, "server_error", "", ""}));
  } else {
    if (!e.text.empty() || !e.logprobs.empty()) {
      out += sse(stream_chunk(st.req, st.meta, e.text, e.logprobs, std::nullopt, st.first, tok));
      st.first = false;
    }
    if (e.final) {
      out += sse(stream_chunk(st.req, st.meta, "", {}, e.finish, st.first, tok));
      if (st.req.include_usage) out += sse(stream_usage_chunk(st.req, st.meta, e));
    }
  }
  if (e.final) {
    out += "data: [DONE]\n\n";
    t_log.prompt_tokens = e.prompt_tokens;
    t_log.completion_tokens = e.completion_tokens;
    t_log.finish = finish_reason_name(e.finish);
  }
  if (!sink.write(out.data(), out.size())) return st.handle->cancel(), false;
  if (e.final) sink.done();
  return true;
}

// Waits for a non-streamed result, writing a keep-alive space each second; false when the client is gone.
bool pump_full(StreamState& st, DataSink& sink, const Tokenizer& tok) {
  Event e;
  const bool got = st.handle->wait(e, std::chrono::milliseconds(200));
  if (Clock::now() - st.last_write > std::chrono::seconds(1)) {
    st.last_write = Clock::now();
    if (!sink.write(" ", 1)) return st.handle->cancel(), false;
  }
  if (!got) return true;
  st.text += e.text;
  st.logprobs.insert(st.logprobs.end(), e.logprobs.begin(), e.logprobs.end());
  if (!e.final) return true;
  t_log.prompt_tokens = e.prompt_tokens;
  t_log.completion_tokens = e.completion_tokens;
  t_log.finish = finish_reason_name(e.finish);
  // The status line is already out; an engine failure (not expected after validation) becomes an error body.
  const std::string body = e.finish == FinishReason::kError
                               ? dump(error_body(ApiError{500, e.error, "server_error", "", ""}))
                               : dump(full_response(st.req, st.meta, st.text, st.logprobs, e, tok));
  if (!sink.write(body.data(), body.size())) return false;
  sink.done();
  return true;
}

}  // namespace

HttpServer::HttpServer(Engine& engine, ApiContext ctx, ServerOptions options)
    : engine_(engine), ctx_(std::move(ctx)), options_(std::move(options)), svr_(std::make_unique<httplib::Server>()) {
  created_ = static_cast<int64_t>(std::time(nullptr));
  install_routes();
}

HttpServer::~HttpServer() = default;

Result<int> HttpServer::bind() {
  int port = options_.port;
  if (port == 0) {
    port = svr_->bind_to_any_port(options_.host);
  } else if (!svr_->bind_to_port(options_.host, port)) {
    port = -1;
  }
  if (port < 0) return failure("cannot listen on {}:{} (address in use, or --host is not a local address)",
                               options_.host, options_.port);
  return port;
}

bool HttpServer::listen() { return svr_->listen_after_bind(); }

void HttpServer::stop() { svr_->stop(); }

// POST /v1/chat/completions and /v1/completions: validate, queue on the engine, relay its events.
void HttpServer::handle_generate(Endpoint ep, const httplib::Request& http_req, httplib::Response& res) {
  auto parsed = parse_request(ep, http_req.body, ctx_, random_u64());
  if (auto* err = std::get_if<ApiError>(&parsed)) return send_error(res, *err);
  ApiRequest req = std::get<ApiRequest>(std::move(parsed));
  auto handle = engine_.submit(req.gen);
  if (handle == nullptr) {
    return send_error(res, ApiError{429, "The server is busy: every slot is running and the queue is full. "
                                         "Retry later.", "requests", "", "rate_limit_exceeded"});
  }
  ResponseMeta meta{new_id(ep == Endpoint::kChat ? "chatcmpl" : "cmpl"), static_cast<int64_t>(std::time(nullptr)),
                    req.model};
  auto st = std::make_shared<StreamState>();
  st->handle = std::move(handle);
  st->meta = std::move(meta);
  st->req = std::move(req);
  if (st->req.stream) {
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, st](size_t, DataSink& sink) { return pump_stream(*st, sink, *ctx_.tokenizer); },
        [st](bool) { st->handle->cancel(); });  // no effect when it already finished
    return;
  }
  // Not streamed, but still sent through a content provider: while generating, a space (JSON allows leading
  // whitespace) goes out every second, so a client that hung up is noticed and its generation cancelled.
  res.set_chunked_content_provider(
      "application/json", [this, st](size_t, DataSink& sink) { return pump_full(*st, sink, *ctx_.tokenizer); },
      [st](bool) { st->handle->cancel(); });
}

void HttpServer::install_routes() {
  httplib::Server& svr = *svr_;
  const size_t n_threads = options_.n_http_threads > 0 ? static_cast<size_t>(options_.n_http_threads) : 128;
  svr.new_task_queue = [n_threads] { return new httplib::ThreadPool(n_threads); };
  svr.set_payload_max_length(options_.max_body_bytes);
  svr.set_keep_alive_timeout(5);
  // Streamed tokens are small writes: with Nagle on, a chunk waits for the client's delayed ACK (~40 ms on Linux),
  // which showed up as a 45-49 ms time-to-first-token under 8 concurrent streams (5-15 ms with it off).
  // Accepted sockets inherit the option from the listening socket on Linux.
  svr.set_tcp_nodelay(true);
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second server bind the same port and silently
  // take half of its connections.
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  svr.set_pre_routing_handler([this](const Request& req, Response& res) {
    t_log = RequestLog{};
    t_log.start = Clock::now();
    if (options_.api_key.empty() || req.path.rfind("/v1/", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    if (auth == "Bearer " + options_.api_key) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, ApiError{401, auth.empty() ? "You didn't provide an API key. You need to provide your API key in "
                                                 "an Authorization header using Bearer auth (i.e. Authorization: "
                                                 "Bearer YOUR_KEY)."
                                               : "Incorrect API key provided.",
                             "invalid_request_error", "", "invalid_api_key"});
    return httplib::Server::HandlerResponse::Handled;
  });

  // Error statuses httplib produces itself (unknown route, body too large, bad request line) get an OpenAI body.
  svr.set_error_handler([](const Request& req, Response& res) {
    if (!res.body.empty() || res.is_chunked_content_provider_) return;
    std::string message = res.status == 404   ? fmt::format("Unknown request URL: {} {}.", req.method, req.path)
                          : res.status == 413 ? "The request body is too large."
                                              : fmt::format("HTTP error {}.", res.status);
    send_json(res, res.status, error_body(ApiError{res.status, message, "invalid_request_error", "", ""}));
  });

  svr.set_logger([this](const Request& req, const Response& res) {
    engine_.metrics().on_request(endpoint_label(req.path), res.status);
    if (!options_.log_requests) return;
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t_log.start).count();
    std::string tokens;
    if (t_log.prompt_tokens >= 0) {
      tokens = fmt::format(" prompt={} completion={} finish={}", t_log.prompt_tokens, t_log.completion_tokens,
                           t_log.finish);
    }
    std::fprintf(stderr, "pocket serve: %s \"%s %s\" %d %.1f ms%s\n", req.remote_addr.c_str(), req.method.c_str(),
                 req.path.c_str(), res.status, ms, tokens.c_str());
  });

  svr.Post("/v1/chat/completions", [this](const Request& q, Response& r) { handle_generate(Endpoint::kChat, q, r); });
  svr.Post("/v1/completions", [this](const Request& q, Response& r) { handle_generate(Endpoint::kCompletion, q, r); });
  svr.Get("/v1/models", [this](const Request&, Response& res) {
    send_json(res, 200, models_json(ctx_.model_id, created_));
  });
  svr.Get("/health", [](const Request&, Response& res) { send_json(res, 200, Json{{"status", "ok"}}); });
  svr.Get("/metrics", [this](const Request&, Response& res) {
    res.set_content(engine_.metrics().render(), "text/plain; version=0.0.4");
  });

  // Known paths with the wrong method: 405 (httplib alone would answer 404).
  auto not_allowed = [](const char* allowed) {
    return [allowed](const Request& req, Response& res) {
      res.set_header("Allow", allowed);
      send_error(res, ApiError{405, fmt::format("Method {} is not allowed for {} (use {}).", req.method, req.path,
                                                allowed), "invalid_request_error", "", "method_not_allowed"});
    };
  };
  for (const char* path : {"/v1/chat/completions", "/v1/completions"}) {
    svr.Get(path, not_allowed("POST"));
    svr.Put(path, not_allowed("POST"));
    svr.Delete(path, not_allowed("POST"));
    svr.Patch(path, not_allowed("POST"));
  }
  for (const char* path : {"/v1/models", "/health", "/metrics"}) {
    svr.Post(path, not_allowed("GET"));
    svr.Put(path, not_allowed("GET"));
    svr.Delete(path, not_allowed("GET"));
    svr.Patch(path, not_allowed("GET"));
  }
}

}  // namespace pocket::server
