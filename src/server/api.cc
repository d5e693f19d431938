#include "server/api.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

namespace pocket::server {
namespace {

using Err = std::optional<ApiError>;
#define API_RETURN_IF_ERROR(expr)      \
  do {                                 \
    if (Err e_ = (expr)) return *e_;   \
  } while (0)

ApiError invalid(std::string param, std::string message, std::string code = "invalid_value") {
  return ApiError{400, std::move(message), "invalid_request_error", std::move(param), std::move(code)};
}

const char* kind_of(const Json& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

ApiError wrong_type(const std::string& param, const Json& v, const char* expected) {
  return invalid(param, fmt::format("Invalid type for '{}': expected {}, but got {}.", param, expected, kind_of(v)),
                 "invalid_type");
}

// Optional typed fields: absent or null leave `out` as it is.
Err get_number(const Json& body, const char* key, double lo, double hi, double& out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) return wrong_type(key, *it, "a number");
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) {
    return invalid(key, fmt::format("Invalid '{}': {} is outside [{}, {}].", key, v, lo, hi));
  }
  out = v;
  return std::nullopt;
}

Err get_float(const Json& body, const char* key, double lo, double hi, float& out) {
  double v = out;
  API_RETURN_IF_ERROR(get_number(body, key, lo, hi, v));
  out = static_cast<float>(v);
  return std::nullopt;
}

Err get_integer(const Json& body, const char* key, int64_t lo, int64_t hi, int64_t& out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  int64_t v = 0;
  if (it->is_number_unsigned()) {
    const uint64_t u = it->get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) return invalid(key, fmt::format("Invalid '{}': {} is above {}.", key, u, hi));
    v = static_cast<int64_t>(u);
  } else if (it->is_number_integer()) {
    v = it->get<int64_t>();
  } else {
    return wrong_type(key, *it, "an integer");
  }
  if (v < lo || v > hi) return invalid(key, fmt::format("Invalid '{}': {} is outside [{}, {}].", key, v, lo, hi));
  out = v;
  return std::nullopt;
}

Err get_bool(const Json& body, const char* key, bool& out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) return wrong_type(key, *it, "a boolean");
  out = it->get<bool>();
  return std::nullopt;
}

// Top-level fields OpenAI accepts for each endpoint (plus llama.cpp-style sampler extensions); anything else is
// rejected like OpenAI does ("Unrecognized request argument supplied").
const std::set<std::string>& known_fields(Endpoint ep) {
  static const std::set<std::string> chat = {
      "messages", "model", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "max_tokens",
      "max_completion_tokens", "n", "presence_penalty", "response_format", "seed", "stop", "stream",
      "stream_options", "temperature", "top_p", "tools", "tool_choice", "parallel_tool_calls", "user", "metadata",
      "store", "service_tier", "modalities", "top_k", "min_p", "repeat_penalty"};
  static const std::set<std::string> completion = {
      "prompt", "model", "best_of", "echo", "frequency_penalty", "logit_bias", "logprobs", "max_tokens", "n",
      "presence_penalty", "seed", "stop", "stream", "stream_options", "suffix", "temperature", "top_p", "user",
      "top_k", "min_p", "repeat_penalty"};
  return ep == Endpoint::kChat ? chat : completion;
}

// Sampling, length, stop and stream fields shared by both endpoints.
Err parse_common(const Json& body, Endpoint ep, const ApiContext& ctx, uint64_t random_seed, ApiRequest& req) {
  for (const auto& [key, value] : body.items()) {
    if (!known_fields(ep).contains(key)) {
      return invalid(key, fmt::format("Unrecognized request argument supplied: {}", key), "unknown_parameter");
    }
  }
  if (auto it = body.find("model"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return wrong_type("model", *it, "a string");
    req.model = it->get<std::string>();
  }
  SamplerParams& s = req.gen.sampler;
  s = SamplerParams{};
  s.temperature = 1.0f;  // OpenAI's defaults: plain sampling at temperature 1
  s.top_p = 1.0f;
  s.top_k = 0;
  s.min_p = 0.0f;
  API_RETURN_IF_ERROR(get_float(body, "temperature", 0, 2, s.temperature));
  API_RETURN_IF_ERROR(get_float(body, "top_p", 0, 1, s.top_p));
  API_RETURN_IF_ERROR(get_float(body, "min_p", 0, 1, s.min_p));
  API_RETURN_IF_ERROR(get_float(body, "presence_penalty", -2, 2, s.presence_penalty));
  API_RETURN_IF_ERROR(get_float(body, "frequency_penalty", -2, 2, s.frequency_penalty));
  API_RETURN_IF_ERROR(get_float(body, "repeat_penalty", 0.01, 100, s.repeat_penalty));
  int64_t top_k = 0;
  API_RETURN_IF_ERROR(get_integer(body, "top_k", 0, 1'000'000, top_k));
  s.top_k = static_cast<int>(top_k);
  int64_t seed = -1;
  API_RETURN_IF_ERROR(get_integer(body, "seed", INT64_MIN, INT64_MAX, seed));
  s.seed = body.contains("seed") && !body["seed"].is_null() ? static_cast<uint64_t>(seed) : random_seed;

  int64_t n = 1;
  API_RETURN_IF_ERROR(get_integer(body, "n", 1, 128, n));
  if (n != 1) return invalid("n", fmt::format("Invalid 'n': {}; only n=1 is supported.", n));
  req.gen.max_tokens = ep == Endpoint::kCompletion ? 16 : -1;  // OpenAI's defaults
  API_RETURN_IF_ERROR(get_integer(body, "max_tokens", 1, INT64_MAX, req.gen.max_tokens));
  if (ep == Endpoint::kChat) {
    API_RETURN_IF_ERROR(get_integer(body, "max_completion_tokens", 1, INT64_MAX, req.gen.max_tokens));
  }

  if (auto it = body.find("stop"); it != body.end() && !it->is_null()) {
    if (it->is_string()) {
      req.gen.stop.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      if (it->size() > 4) return invalid("stop", fmt::format("Invalid 'stop': {} strings; at most 4.", it->size()));
      for (const auto& s_item : *it) {
        if (!s_item.is_string()) return wrong_type("stop", s_item, "a string or an array of strings");
        req.gen.stop.push_back(s_item.get<std::string>());
      }
    } else {
      return wrong_type("stop", *it, "a string or an array of strings");
    }
    std::erase_if(req.gen.stop, [](const std::string& x) { return x.empty(); });
  }
  API_RETURN_IF_ERROR(get_bool(body, "stream", req.stream));
  if (auto it = body.find("stream_options"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return wrong_type("stream_options", *it, "an object");
    if (!req.stream) return invalid("stream_options", "The 'stream_options' parameter is only allowed when 'stream' "
                                    "is enabled.");
    API_RETURN_IF_ERROR(get_bool(*it, "include_usage", req.include_usage));
  }
  if (auto it = body.find("logit_bias"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return wrong_type("logit_bias", *it, "an object");
    if (!it->empty()) return invalid("logit_bias", "'logit_bias' is not supported by this server.");
  }
  (void)ctx;
  return std::nullopt;
}

// A message's content: a string, or an array of {"type": "text", "text": ...} parts (joined).
Err message_text(const Json& m, size_t index, std::string& out) {
  const std::string param = fmt::format("messages[{}].content", index);
  auto it = m.find("content");
  if (it == m.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) {
    out = it->get<std::string>();
    return std::nullopt;
  }
  if (!it->is_array()) return wrong_type(param, *it, "a string or an array of content parts");
  for (const auto& part : *it) {
    if (!part.is_object() || !part.contains("type") || part["type"] != "text" || !part.contains("text") ||
        !part["text"].is_string()) {
      return invalid(param, fmt::format("Invalid '{}': only text parts ({{\"type\": \"text\", \"text\": ...}}) are "
                                        "supported.", param));
    }
    out += part["text"].get<std::string>();
  }
  return std::nullopt;
}

Err parse_chat(const Json& body, const ApiContext& ctx, ApiRequest& req) {
  auto it = body.find("messages");
  if (it == body.end()) return invalid("messages", "Missing required parameter: 'messages'.", "missing_required_parameter");
  if (!it->is_array()) return wrong_type("messages", *it, "an array");
  if (it->empty()) return invalid("messages", "Invalid 'messages': empty array. Expected an array with minimum "
                                  "length 1, but got an empty array instead.", "empty_array");
  static const std::set<std::string> roles = {"system", "developer", "user", "assistant", "tool"};
  chat::ChatRequest chat_req;
  bool mentions_json = false;
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& m = (*it)[i];
    if (!m.is_object()) return wrong_type(fmt::format("messages[{}]", i), m, "an object");
    auto role = m.find("role");
    if (role == m.end()) {
      return invalid(fmt::format("messages[{}].role", i), fmt::format("Missing required parameter: "
                     "'messages[{}].role'.", i), "missing_required_parameter");
    }
    if (!role->is_string() || !roles.contains(role->get<std::string>())) {
      return invalid(fmt::format("messages[{}].role", i), fmt::format("Invalid value for 'messages[{}].role': "
                     "expected one of system, developer, user, assistant, tool.", i));
    }
    std::string text;
    API_RETURN_IF_ERROR(message_text(m, i, text));
    std::string r = role->get<std::string>();
    if (r == "developer") r = "system";  // the newer name of the system role; templates know "system"
    std::string lower = text;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    mentions_json = mentions_json || lower.find("json") != std::string::npos;
    chat_req.messages.push_back(Json{{"role", r}, {"content", text}});
  }
  if (auto t = body.find("tools"); t != body.end() && !t->is_null() && !(t->is_array() && t->empty())) {
    return invalid("tools", "'tools' (function calling) is not supported by this server.");
  }
  if (auto rf = body.find("response_format"); rf != body.end() && !rf->is_null()) {
    if (!rf->is_object() || !rf->contains("type") || !(*rf)["type"].is_string()) {
      return invalid("response_format", "Invalid 'response_format': expected an object with a string 'type'.");
    }
    const std::string type = (*rf)["type"].get<std::string>();
    if (type == "json_object" && !mentions_json) {
      return invalid("messages", "'messages' must contain the word 'json' in some form, to use 'response_format' of "
                     "type 'json_object'.");
    }
    if (type != "text" && type != "json_object") {
      return invalid("response_format.type", fmt::format("Invalid 'response_format.type': '{}' is not supported "
                     "(text, json_object).", type));
    }
  }
  API_RETURN_IF_ERROR(get_bool(body, "logprobs", req.logprobs));
  int64_t top = 0;
  API_RETURN_IF_ERROR(get_integer(body, "top_logprobs", 0, 20, top));
  if (body.contains("top_logprobs") && !body["top_logprobs"].is_null() && !req.logprobs) {
    return invalid("top_logprobs", "Invalid 'top_logprobs': 'logprobs' must be set to true.");
  }
  req.gen.top_logprobs = req.logprobs ? static_cast<int>(top) : -1;

  chat_req.add_generation_prompt = true;
  chat_req.bos_token = ctx.bos_token;
  chat_req.eos_token = ctx.eos_token;
  chat_req.now = chat::local_now();
  auto rendered = ctx.chat_template->render(chat::chat_context(chat_req), chat_req.now);
  if (!rendered.ok()) {
    return invalid("messages", fmt::format("The chat template could not render these messages: {}",
                                           rendered.status().message()));
  }
  req.prompt_text = std::move(*rendered);
  req.gen.prompt = ctx.tokenizer->encode(req.prompt_text, /*add_special=*/true, /*parse_special=*/true);
  // A template that writes the BOS text itself would give two BOS tokens with add_special.
  const int32_t bos = ctx.tokenizer->bos_id();
  if (req.gen.prompt.size() >= 2 && bos >= 0 && req.gen.prompt[0] == bos && req.gen.prompt[1] == bos) {
    req.gen.prompt.erase(req.gen.prompt.begin());
  }
  return std::nullopt;
}

Err parse_completion(const Json& body, const ApiContext& ctx, ApiRequest& req) {
  auto it = body.find("prompt");
  if (it == body.end() || it->is_null()) return invalid("prompt", "Missing required parameter: 'prompt'.",
                                                        "missing_required_parameter");
  const Json* p = &*it;
  if (p->is_array() && p->size() == 1 && ((*p)[0].is_string() || (*p)[0].is_array())) p = &(*p)[0];
  if (p->is_string()) {
    req.prompt_text = p->get<std::string>();
    req.gen.prompt = ctx.tokenizer->encode(req.prompt_text, /*add_special=*/true, /*parse_special=*/true);
  } else if (p->is_array() && std::all_of(p->begin(), p->end(), [](const Json& x) { return x.is_number_integer(); })) {
    for (const Json& x : *p) {
      const int64_t id = x.get<int64_t>();
      if (id < 0 || id >= ctx.tokenizer->n_vocab()) {
        return invalid("prompt", fmt::format("Invalid 'prompt': token id {} is outside the vocabulary [0, {}).", id,
                                             ctx.tokenizer->n_vocab()));
      }
      req.gen.prompt.push_back(static_cast<int32_t>(id));
    }
    req.prompt_text = ctx.tokenizer->decode(req.gen.prompt);
  } else {
    return invalid("prompt", "Invalid 'prompt': expected a string, an array of token ids, or an array holding one "
                   "of those (several prompts per request are not supported).", "invalid_type");
  }
  int64_t best_of = 1;
  API_RETURN_IF_ERROR(get_integer(body, "best_of", 1, 20, best_of));
  if (best_of != 1) return invalid("best_of", "Invalid 'best_of': only 1 is supported.");
  if (auto s = body.find("suffix"); s != body.end() && !s->is_null()) {
    return invalid("suffix", "'suffix' (insertion) is not supported by this server.");
  }
  API_RETURN_IF_ERROR(get_bool(body, "echo", req.echo));
  int64_t lp = -1;
  API_RETURN_IF_ERROR(get_integer(body, "logprobs", 0, 5, lp));
  req.logprobs = lp >= 0;
  req.gen.top_logprobs = static_cast<int>(lp);
  return std::nullopt;
}

Json token_bytes(const std::string& piece) {
  Json bytes = Json::array();
  for (unsigned char c : piece) bytes.push_back(static_cast<int>(c));
  return bytes;
}

Json chat_logprobs(const std::vector<TokenLogprob>& lps, const Tokenizer& tok) {
  Json content = Json::array();
  for (const auto& lp : lps) {
    const std::string piece = tok.token_to_piece(lp.id);
    Json top = Json::array();
    for (auto [id, l] : lp.top) {
      const std::string p = tok.token_to_piece(id);
      top.push_back(Json{{"token", p}, {"logprob", l}, {"bytes", token_bytes(p)}});
    }
    content.push_back(Json{{"token", piece}, {"logprob", lp.logprob}, {"bytes", token_bytes(piece)},
                           {"top_logprobs", top}});
  }
  return Json{{"content", content}, {"refusal", nullptr}};
}

// The legacy completions shape: parallel arrays plus a {token: logprob} map per position.
Json completion_logprobs(const std::vector<TokenLogprob>& lps, const Tokenizer& tok, size_t offset0) {
  Json tokens = Json::array(), token_lps = Json::array(), tops = Json::array(), offsets = Json::array();
  size_t offset = offset0;
  for (const auto& lp : lps) {
    const std::string piece = tok.token_to_piece(lp.id);
    tokens.push_back(piece);
    token_lps.push_back(lp.logprob);
    Json top = Json::object();
    for (auto [id, l] : lp.top) top[tok.token_to_piece(id)] = l;
    tops.push_back(top);
    offsets.push_back(offset);
    offset += piece.size();
  }
  return Json{{"tokens", tokens}, {"token_logprobs", token_lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

}  // namespace

Json error_body(const ApiError& e) {
  return Json{{"error", Json{{"message", e.message},
                             {"type", e.type},
                             {"param", e.param.empty() ? Json(nullptr) : Json(e.param)},
                             {"code", e.code.empty() ? Json(nullptr) : Json(e.code)}}}};
}

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::variant<ApiRequest, ApiError> parse_request(Endpoint endpoint, std::string_view body_text, const ApiContext& ctx,
                                                 uint64_t random_seed) {
  Json body = Json::parse(body_text.begin(), body_text.end(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return ApiError{400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
                    "using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
                    "invalid_request_error", "", ""};
  }
  if (!body.is_object()) return invalid("", "The request body must be a JSON object.", "invalid_type");
  ApiRequest req;
  req.endpoint = endpoint;
  API_RETURN_IF_ERROR(parse_common(body, endpoint, ctx, random_seed, req));
  API_RETURN_IF_ERROR(endpoint == Endpoint::kChat ? parse_chat(body, ctx, req) : parse_completion(body, ctx, req));
  if (req.gen.prompt.empty()) {
    return invalid(endpoint == Endpoint::kChat ? "messages" : "prompt", "The prompt is empty (no tokens).");
  }
  const auto n_prompt = static_cast<int64_t>(req.gen.prompt.size());
  if (n_prompt >= ctx.n_ctx) {
    return invalid(endpoint == Endpoint::kChat ? "messages" : "prompt",
                   fmt::format("This model's maximum context length is {} tokens. However, your messages resulted in "
                               "{} tokens. Please reduce the length of the messages.", ctx.n_ctx, n_prompt),
                   "context_length_exceeded");
  }
  if (req.model.empty()) req.model = ctx.model_id;
  return req;
}

std::string_view openai_finish_reason(FinishReason r) { return r == FinishReason::kLength ? "length" : "stop"; }

Json usage_json(const Event& f) {
  return Json{{"prompt_tokens", f.prompt_tokens},
              {"completion_tokens", f.completion_tokens},
              {"total_tokens", f.prompt_tokens + f.completion_tokens},
              {"prompt_tokens_details", Json{{"cached_tokens", f.cached_tokens}}}};
}

Json full_response(const ApiRequest& req, const ResponseMeta& meta, const std::string& text,
                   const std::vector<TokenLogprob>& logprobs, const Event& final, const Tokenizer& tok) {
  Json choice;
  if (req.endpoint == Endpoint::kChat) {
    choice = Json{{"index", 0},
                  {"message", Json{{"role", "assistant"}, {"content", text}, {"refusal", nullptr}}},
                  {"logprobs", req.logprobs ? chat_logprobs(logprobs, tok) : Json(nullptr)},
                  {"finish_reason", openai_finish_reason(final.finish)}};
  } else {
    const std::string full = req.echo ? req.prompt_text + text : text;
    const size_t offset0 = req.echo ? req.prompt_text.size() : 0;
    choice = Json{{"text", full},
                  {"index", 0},
                  {"logprobs", req.logprobs ? completion_logprobs(logprobs, tok, offset0) : Json(nullptr)},
                  {"finish_reason", openai_finish_reason(final.finish)}};
  }
  return Json{{"id", meta.id},
              {"object", req.endpoint == Endpoint::kChat ? "chat.completion" : "text_completion"},
              {"created", meta.created},
              {"model", meta.model},
              {"system_fingerprint", "pocket"},
              {"choices", Json::array({choice})},
              {"usage", usage_json(final)}};
}

Json stream_chunk(const ApiRequest& req, const ResponseMeta& meta, const std::string& text,
                  const std::vector<TokenLogprob>& logprobs, std::optional<FinishReason> finish, bool first,
                  const Tokenizer& tok) {
  const Json finish_json = finish ? Json(openai_finish_reason(*finish)) : Json(nullptr);
  Json choice;
  if (req.endpoint == Endpoint::kChat) {
    Json delta = Json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || (first && !finish)) delta["content"] = text;
    choice = Json{{"index", 0},
                  {"delta", delta},
                  {"logprobs", req.logprobs && !logprobs.empty() ? chat_logprobs(logprobs, tok) : Json(nullptr)},
                  {"finish_reason", finish_json}};
  } else {
    choice = Json{{"text", first && req.echo ? req.prompt_text + text : text},
                  {"index", 0},
                  {"logprobs", req.logprobs && !logprobs.empty() ? completion_logprobs(logprobs, tok, 0)
                                                                 : Json(nullptr)},
                  {"finish_reason", finish_json}};
  }
  Json chunk{{"id", meta.id},
             {"object", req.endpoint == Endpoint::kChat ? "chat.completion.chunk" : "text_completion"},
             {"created", meta.created},
             {"model", meta.model},
             {"system_fingerprint", "pocket"},
             {"choices", Json::array({choice})}};
  if (req.include_usage) chunk["usage"] = nullptr;
  return chunk;
}

Json stream_usage_chunk(const ApiRequest& req, const ResponseMeta& meta, const Event& final) {
  return Json{{"id", meta.id},
              {"object", req.endpoint == Endpoint::kChat ? "chat.completion.chunk" : "text_completion"},
              {"created", meta.created},
              {"model", meta.model},
              {"system_fingerprint", "pocket"},
              {"choices", Json::array()},
              {"usage", usage_json(final)}};
}

Json models_json(const std::string& model_id, int64_t created) {
  return Json{{"object", "list"},
              {"data", Json::array({Json{{"id", model_id}, {"object", "model"}, {"created", created},
                                         {"owned_by", "pocket"}}})}};
}

}  // namespace pocket::server
