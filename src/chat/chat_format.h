// Chat formatting: renders a conversation through a model's Jinja chat template exactly as Hugging Face
// transformers' apply_chat_template does (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loop controls,
// raise_exception, strftime_now, transformers' tojson). Templates are untrusted: rendering is bounded in depth,
// steps and output size and ends with an error instead of crashing or hanging.
#pragma once

#include <ctime>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace pocket::chat {

struct Program;

// Resource limits of one render (templates are untrusted input).
struct Limits {
  size_t max_output_bytes = 16u << 20;       // any one string (rendered output, concatenation, repetition)
  uint64_t max_total_bytes = 256ull << 20;   // all bytes produced + list memory built while rendering
  uint64_t max_steps = 10'000'000;           // work units: evaluated nodes, loop iterations, elements touched
  int max_depth = 1000;                      // evaluator recursion (nested calls, expressions, blocks)
  int max_call_depth = 200;                  // macro / caller / recursive loop nesting
  int64_t max_range = 1'000'000;             // elements of one range() or list
};

// The template used for GGUFs without tokenizer.chat_template (ChatML, as llama.cpp falls back to).
extern const char* const kChatMlTemplate;

// A parsed template, reusable across renders.
class ChatTemplate {
 public:
  // Syntax errors: failure (exit 1) naming the template line and construct.
  static Result<ChatTemplate> parse(const std::string& source);

  // Renders with `context` as the template's variables (a JSON object). Errors raised by the template
  // (raise_exception, type errors, undefined values, limits) are failures naming the line and construct.
  Result<std::string> render(const nlohmann::ordered_json& context, const std::tm& now,
                             const Limits& limits = Limits()) const;

 private:
  std::shared_ptr<const Program> program_;
};

struct ChatRequest {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;  // null when the conversation has none (the template then sees None)
  bool add_generation_prompt = false;
  std::string bos_token;
  std::string eos_token;
  std::tm now{};  // what strftime_now() sees
};

// The variables transformers passes: messages, tools, documents (None), add_generation_prompt, bos/eos_token.
nlohmann::ordered_json chat_context(const ChatRequest& request);

// Parses and renders in one go.
Result<std::string> render_chat(const std::string& template_source, const ChatRequest& request);

// "2025-03-04T05:06:07" (also "2025-03-04 05:06:07" or a date alone) -> broken-down time; bad_input otherwise.
Result<std::tm> parse_iso_time(const std::string& text);
// The local time now.
std::tm local_now();

}  // namespace pocket::chat
