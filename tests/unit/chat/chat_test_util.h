// Shared helper for the chat-template unit tests: render a template source against a JSON context.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "chat/chat_format.h"

namespace pocket::chat::testing {

inline Result<std::string> render_with(const std::string& source, const nlohmann::ordered_json& ctx = {}) {
  auto t = ChatTemplate::parse(source);
  if (!t.ok()) return t.status();
  std::tm now = parse_iso_time("2025-03-04T05:06:07").value();
  return t->render(ctx.is_null() ? nlohmann::ordered_json::object() : ctx, now);
}

// The rendered text, or "ERROR: <message>".
inline std::string render(const std::string& source, const nlohmann::ordered_json& ctx = {}) {
  auto r = render_with(source, ctx);
  return r.ok() ? r.value() : "ERROR: " + r.status().message();
}

}  // namespace pocket::chat::testing
