#include "chat_util.h"

#include <fstream>
#include <optional>
#include <sstream>

namespace pocket {

Result<std::string> read_text_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad_input("{} {}: cannot open the file", what, path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return failure("{} {}: read error", what, path);
  return ss.str();
}

std::string vocab_token(const GgufFile& gguf, const char* id_key) {
  std::optional<int64_t> id = gguf.get_int(id_key);
  const GgufValue* tokens = gguf.find("tokenizer.ggml.tokens");
  if (!id || !tokens || *id < 0 || static_cast<uint64_t>(*id) >= tokens->strs.size()) return "";
  return tokens->strs[static_cast<size_t>(*id)];
}

Result<Conversation> parse_conversation(const std::string& text, const std::string& where) {
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return bad_input("{}: malformed JSON", where);
  Conversation conv;
  if (doc.is_array()) {
    conv.messages = doc;
  } else if (doc.is_object() && doc.contains("messages") && doc["messages"].is_array()) {
    conv.messages = doc["messages"];
    if (doc.contains("tools") && !doc["tools"].is_null()) {
      if (!doc["tools"].is_array()) return bad_input("{}: 'tools' must be an array", where);
      conv.tools = doc["tools"];
    }
  } else {
    return bad_input("{}: expected an object with a 'messages' array (or an array of messages)", where);
  }
  for (size_t i = 0; i < conv.messages.size(); ++i) {
    const auto& m = conv.messages[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      return bad_input("{}: message {} is not an object with a string 'role'", where, i);
    }
  }
  return conv;
}

std::string conversation_to_json(const Conversation& conv) {
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  doc["messages"] = conv.messages;
  if (!conv.tools.is_null()) doc["tools"] = conv.tools;
  // Replies may hold bytes that are not UTF-8 (a lone byte token): written as U+FFFD rather than failing.
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace pocket
