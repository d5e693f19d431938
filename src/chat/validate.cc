// Compile-time checks Jinja makes: an unknown filter or test is an error when the template is compiled, unless it
// sits inside an `if` (statement or inline expression) directly in the same frame, where Jinja defers the error to
// runtime (raised only if reached). Loop, macro, call, filter and set-block bodies start a new, non-soft frame.
#include "chat/validate.h"

#include <set>
#include <string>

namespace pocket::chat {
namespace {

const std::set<std::string>& known_filters() {
  static const std::set<std::string> names = {
      "tojson", "trim", "length", "count", "string", "safe", "default", "d", "upper", "lower", "capitalize", "title",
      "first", "last", "join", "map", "select", "reject", "selectattr", "rejectattr", "items", "dictsort", "list",
      "sort", "unique", "reverse", "replace", "int", "float", "abs", "round", "escape", "e", "forceescape", "indent",
      "truncate", "wordcount", "center", "sum", "min", "max", "batch", "format", "attr"};
  return names;
}

const std::set<std::string>& known_tests() {
  static const std::set<std::string> names = {
      "defined", "undefined", "none", "string", "number", "integer", "float", "boolean", "true", "false", "mapping",
      "iterable", "sequence", "callable", "odd", "even", "divisibleby", "eq", "equalto", "==", "ne", "!=", "lt",
      "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=", "in", "sameas", "lower", "upper",
      "escaped"};
  return names;
}

struct Validator {
  std::string error;

  void fail(int line, const std::string& message) {
    if (error.empty()) error = "line " + std::to_string(line) + ": " + message;
  }

  void expr(const Expr* e, bool soft) {
    if (!e || !error.empty()) return;
    if (e->kind == ExprKind::kFilter && !soft && !known_filters().count(e->name)) {
      fail(e->line, "No filter named '" + e->name + "'.");
    }
    if (e->kind == ExprKind::kTest && !soft && !known_tests().count(e->name)) {
      fail(e->line, "No test named '" + e->name + "'.");
    }
    bool inner_soft = soft || e->kind == ExprKind::kCondExpr;
    expr(e->base.get(), inner_soft);
    for (const auto& a : e->args) expr(a.get(), inner_soft);
    for (const auto& kv : e->kwargs) expr(kv.second.get(), inner_soft);
  }

  void body(const Body& b, bool soft) {
    for (const auto& s : b) stmt(*s, soft);
  }

  void stmt(const Stmt& s, bool soft) {
    if (!error.empty()) return;
    switch (s.kind) {
      case StmtKind::kIf:
        for (const auto& c : s.conds) expr(c.get(), true);
        for (const auto& b : s.bodies) body(b, true);
        body(s.else_body, true);
        break;
      case StmtKind::kFor:
        expr(s.expr.get(), soft);
        expr(s.cond.get(), false);
        body(s.body, false);
        body(s.else_body, false);
        break;
      case StmtKind::kMacro:
      case StmtKind::kCallBlock:
        for (const auto& p : s.params) expr(p.second.get(), false);
        expr(s.expr.get(), soft);
        body(s.body, false);
        break;
      case StmtKind::kFilterBlock:
      case StmtKind::kSetBlock:
        expr(s.expr.get(), soft);
        body(s.body, false);
        break;
      case StmtKind::kScope: body(s.body, soft); break;
      default: expr(s.expr.get(), soft);
    }
  }
};

}  // namespace

Status validate_program(const Program& program) {
  Validator v;
  v.body(program.body, false);
  if (!v.error.empty()) return failure("TemplateAssertionError: {}", v.error);
  return ok_status();
}

}  // namespace pocket::chat
