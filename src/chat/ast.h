// The Jinja syntax tree: expressions and statements, each remembering its template line for error messages.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/value.h"

namespace pocket::chat {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class ExprKind {
  kLiteral,   // literal
  kName,      // name
  kList,      // args = items
  kTuple,     // args = items
  kDict,      // args = key0, value0, key1, value1, ...
  kGetAttr,   // base . name
  kGetItem,   // base [ args[0] ]
  kSlice,     // base [ args[0] : args[1] : args[2] ] (null = omitted)
  kCall,      // base ( args, kwargs )
  kFilter,    // base | name ( args, kwargs ); base is null inside {% filter %} / block set
  kTest,      // base is [not] name ( args, kwargs )
  kUnary,     // name in {"-", "+", "not"}, base
  kBinary,    // base name args[0]; name in + - * / // % ** ~ and or
  kCompare,   // base (ops[i] args[i])...: chained comparisons; ops in == != < > <= >= in notin
  kCondExpr,  // args[0] if base else args[1] (args[1] null: undefined)
};

struct Expr {
  ExprKind kind;
  int line = 0;
  Value literal;
  std::string name;
  bool negated = false;  // kTest with `is not`
  int depth = 1;         // height of this subtree (the parser bounds it: evaluation and destruction recurse)
  ExprPtr base;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
};

enum class StmtKind {
  kText,         // text
  kOutput,       // {{ expr }}
  kIf,           // conds[i] -> bodies[i]; else_body
  kFor,          // for targets in expr [if cond] [recursive]: body [else else_body]
  kSet,          // targets (or ns_attr on targets[0]) = expr
  kSetBlock,     // {% set x %}body{% endset %}, optional filter chain in expr
  kMacro,        // name(params) body
  kCallBlock,    // {% call(params) expr %}body{% endcall %}
  kFilterBlock,  // {% filter expr %}body{% endfilter %}
  kBreak,
  kContinue,
  kScope,        // {% generation %} ... : renders its body unchanged
};

struct Stmt {
  StmtKind kind;
  int line = 0;
  std::string text;
  std::string name;        // macro name; kSet namespace attribute
  ExprPtr expr;
  ExprPtr cond;            // kFor filter
  bool recursive = false;  // kFor
  // kMacro: whether the body mentions varargs / kwargs / caller (Jinja then accepts extra arguments).
  bool uses_varargs = false;
  bool uses_kwargs = false;
  bool uses_caller = false;
  std::vector<std::string> targets;
  std::vector<ExprPtr> conds;   // kIf
  std::vector<Body> bodies;     // kIf (one per cond)
  Body body;
  Body else_body;
  std::vector<std::pair<std::string, ExprPtr>> params;  // kMacro, kCallBlock (default may be null)
};

struct Program {
  Body body;
};

}  // namespace pocket::chat
