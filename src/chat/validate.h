// Compile-time validation of a parsed template (unknown filters and tests outside `if`, as Jinja's compiler does).
#pragma once

#include "base/status.h"
#include "chat/ast.h"

namespace pocket::chat {

Status validate_program(const Program& program);

}  // namespace pocket::chat
