// Jinja lexer with transformers' settings: trim_blocks and lstrip_blocks on, keep_trailing_newline off,
// whitespace control (`{%-`, `-%}`, `{{-`, `-}}`, `{%+`, `+%}`), comments and `{% raw %}` blocks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace pocket::chat {

enum class TokenType {
  kText,        // literal template data
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kVarBegin,    // {{
  kVarEnd,      // }}
  kName,
  kString,      // value has escapes resolved
  kInt,
  kFloat,
  kOperator,    // + - * / // % ** ~ == != < > <= >= = . , : | ( ) [ ] { }
  kEof,
};

struct Token {
  TokenType type;
  std::string value;
  int line;
};

// Splits `source` into tokens. Errors (unterminated tag, string or comment) name the line.
Result<std::vector<Token>> tokenize(std::string_view source);

}  // namespace pocket::chat
