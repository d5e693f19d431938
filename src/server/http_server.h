// The HTTP front end of `pocket serve` (cpp-httplib): routes, API key, errors, SSE streaming, request log.
// Handlers run on httplib's worker threads; they only parse, submit to the Engine and relay its events.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "server/api.h"
#include "server/engine.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}

namespace pocket::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                       // 0: any free port
  std::string api_key;                   // empty: no authentication
  size_t max_body_bytes = 4u << 20;      // larger request bodies get 413
  int n_http_threads = 0;                // 0: enough for every slot, the queue and idle keep-alive connections
  bool log_requests = true;              // one line per request on stderr
};

class HttpServer {
 public:
  HttpServer(Engine& engine, ApiContext ctx, ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket; returns the port (the chosen one when options.port is 0).
  Result<int> bind();
  // Serves until stop(); false when the server failed.
  bool listen();
  void stop();

 private:
  void install_routes();
  void handle_generate(Endpoint ep, const httplib::Request& http_req, httplib::Response& res);

  Engine& engine_;
  ApiContext ctx_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> svr_;
  int64_t created_ = 0;
};

}  // namespace pocket::server
