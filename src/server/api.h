// The OpenAI wire format: request bodies of /v1/chat/completions and /v1/completions validated into engine
// parameters (errors shaped like OpenAI's), and the response / stream-chunk bodies built from engine events.
// Pure functions of their inputs (no I/O), so every rule is unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/chat_format.h"
#include "server/engine.h"
#include "tokenizer/tokenizer.h"

namespace pocket::server {

using Json = nlohmann::ordered_json;

// An OpenAI-style error: HTTP status and {"error": {"message", "type", "param", "code"}}.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // empty: null
  std::string code;   // empty: null
};
Json error_body(const ApiError& e);
// Serializes JSON for the wire; invalid UTF-8 (a token piece that is half a character) becomes U+FFFD.
std::string dump(const Json& j);

enum class Endpoint { kChat, kCompletion };

// What the API needs from the model: its tokenizer, chat template and context size.
struct ApiContext {
  const Tokenizer* tokenizer = nullptr;
  const chat::ChatTemplate* chat_template = nullptr;
  std::string bos_token, eos_token;  // the strings the template sees
  int64_t n_ctx = 0;
  std::string model_id;              // reported as "model" (requests may name any model)
};

struct ApiRequest {
  Endpoint endpoint = Endpoint::kChat;
  GenParams gen;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool logprobs = false;
  bool echo = false;           // completions: the prompt text is prepended to the result
  std::string prompt_text;     // the rendered prompt (chat) or the prompt (completions)
  std::string model;
};

// Validates `body` for `endpoint`. `random_seed` is used when the request gives no seed.
std::variant<ApiRequest, ApiError> parse_request(Endpoint endpoint, std::string_view body, const ApiContext& ctx,
                                                 uint64_t random_seed);

// Response bodies. `id` like "chatcmpl-…", `created` in Unix seconds.
struct ResponseMeta {
  std::string id;
  int64_t created = 0;
  std::string model;
};
std::string_view openai_finish_reason(FinishReason r);  // "stop" / "length"
Json usage_json(const Event& final);
Json full_response(const ApiRequest& req, const ResponseMeta& meta, const std::string& text,
                   const std::vector<TokenLogprob>& logprobs, const Event& final, const Tokenizer& tok);
// One streamed chunk: text (and logprobs) so far not sent; finish set on the last content chunk.
Json stream_chunk(const ApiRequest& req, const ResponseMeta& meta, const std::string& text,
                  const std::vector<TokenLogprob>& logprobs, std::optional<FinishReason> finish, bool first,
                  const Tokenizer& tok);
// The usage-only chunk sent last when stream_options.include_usage is set (choices: []).
Json stream_usage_chunk(const ApiRequest& req, const ResponseMeta& meta, const Event& final);

// GET /v1/models.
Json models_json(const std::string& model_id, int64_t created);

}  // namespace pocket::server
