// Helpers shared by `pocket template` and `pocket chat`: reading files, the bos/eos strings a template sees, and
// conversation JSON (an array of {role, content, ...} messages, or {"messages": [...], "tools": [...]}).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "format/gguf.h"

namespace pocket {

// The whole file's bytes; errors name `what` (a flag or command, e.g. "--chat-template") and the path.
Result<std::string> read_text_file(const std::string& path, const std::string& what);

// The text of the token whose id is at metadata key `id_key` (e.g. "tokenizer.ggml.bos_token_id"); "" if absent.
std::string vocab_token(const GgufFile& gguf, const char* id_key);

// A parsed conversation: `messages` is a JSON array of objects with a string "role"; `tools` null or an array.
struct Conversation {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;
};

// Parses conversation JSON text; errors (bad_input) are prefixed with `where` (e.g. "--messages conv.json").
Result<Conversation> parse_conversation(const std::string& text, const std::string& where);
// {"messages": [...]} (plus "tools" when not null), indented by 2.
std::string conversation_to_json(const Conversation& conv);

}  // namespace pocket
