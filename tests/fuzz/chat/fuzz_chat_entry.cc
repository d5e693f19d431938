#include "fuzz_chat_entry.h"

#include <string>

#include <nlohmann/json.hpp>

#include "chat/chat_format.h"

namespace pocket::chat {

int fuzz_chat_template_once(const uint8_t* data, size_t size) {
  static const nlohmann::ordered_json context = [] {
    nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(R"({
      "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi {{ there }} ü"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function",
          "function": {"name": "f", "arguments": {"x": 1, "y": [1.5, null, true]}}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "{\"ok\": 1}"},
        {"role": "user", "content": [{"type": "text", "text": "part"}]}
      ],
      "tools": [{"type": "function", "function": {"name": "f", "description": "d",
        "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}}}],
      "documents": null, "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"})");
    return ctx;
  }();
  static const std::tm now = parse_iso_time("2025-03-04T05:06:07").value();
  Limits limits;
  limits.max_output_bytes = 1 << 20;
  limits.max_total_bytes = 16 << 20;
  limits.max_steps = 200000;
  limits.max_range = 10000;
  std::string source(reinterpret_cast<const char*>(data), size);
  auto parsed = ChatTemplate::parse(source);
  if (!parsed.ok()) return 0;
  auto rendered = parsed->render(context, now, limits);
  return rendered.ok() ? 1 : 0;
}

}  // namespace pocket::chat
