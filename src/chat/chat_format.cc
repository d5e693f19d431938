#include "chat/chat_format.h"

#include <cstdio>

#include "chat/interpreter.h"
#include "chat/parser.h"

namespace pocket::chat {

const char* const kChatMlTemplate =
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";

Result<ChatTemplate> ChatTemplate::parse(const std::string& source) {
  POCKET_ASSIGN_OR_RETURN(Program program, parse_template(source));
  ChatTemplate t;
  t.program_ = std::make_shared<const Program>(std::move(program));
  return t;
}

Result<std::string> ChatTemplate::render(const nlohmann::ordered_json& context, const std::tm& now,
                                         const Limits& limits) const {
  auto globals = std::make_shared<Scope>(nullptr);
  add_builtin_globals(*globals);
  if (context.is_object()) {
    for (auto it = context.begin(); it != context.end(); ++it) globals->set(it.key(), Value::from_json(it.value()));
  }
  Interpreter interp(limits, now);
  try {
    return interp.render(*program_, globals);
  } catch (const JinjaError& e) {
    return failure("chat template line {} (in {}): {}: {}", interp.line(), interp.construct(), e.type, e.message);
  } catch (const std::bad_alloc&) {
    return failure("chat template line {} (in {}): out of memory", interp.line(), interp.construct());
  }
}

nlohmann::ordered_json chat_context(const ChatRequest& request) {
  nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
  ctx["messages"] = request.messages;
  ctx["tools"] = request.tools;
  ctx["documents"] = nullptr;
  ctx["add_generation_prompt"] = request.add_generation_prompt;
  ctx["bos_token"] = request.bos_token;
  ctx["eos_token"] = request.eos_token;
  return ctx;
}

Result<std::string> render_chat(const std::string& template_source, const ChatRequest& request) {
  POCKET_ASSIGN_OR_RETURN(ChatTemplate t, ChatTemplate::parse(template_source));
  return t.render(chat_context(request), request.now);
}

Result<std::tm> parse_iso_time(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char sep = 'T';
  int n = std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &d, &sep, &h, &mi, &s);
  bool ok = (n == 3 && text.size() == 10) || (n == 7 && (sep == 'T' || sep == ' '));
  if (!ok || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1) {
    return bad_input("--now: expected an ISO time like 2025-03-04T05:06:07, got '{}'", text);
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  std::time_t t = timegm(&tm);  // normalizes and fills tm_wday / tm_yday
  std::tm out{};
  gmtime_r(&t, &out);
  return out;
}

std::tm local_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm;
}

}  // namespace pocket::chat
