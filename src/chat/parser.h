// Jinja parser: tokens -> Program. Syntax errors name the template line and the construct.
#pragma once

#include <string_view>

#include "base/status.h"
#include "chat/ast.h"

namespace pocket::chat {

// Deepest nesting of expressions/blocks the parser accepts (bounds the evaluator's recursion too).
inline constexpr int kMaxParseDepth = 200;

Result<Program> parse_template(std::string_view source);

}  // namespace pocket::chat
