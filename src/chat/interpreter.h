// The tree-walking evaluator (internal to src/chat). Jinja errors are thrown as JinjaError inside the interpreter
// and turned into a Status at the API boundary (template.cc); every resource is bounded by Limits.
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <unordered_map>

#include "chat/ast.h"
#include "chat/chat_format.h"
#include "chat/value.h"

namespace pocket::chat {

class Scope {
 public:
  explicit Scope(std::shared_ptr<Scope> parent) : parent_(std::move(parent)) {}
  const Value* lookup(const std::string& name) const;
  void set(const std::string& name, Value value) { vars_[name] = std::move(value); }

 private:
  std::shared_ptr<Scope> parent_;
  std::unordered_map<std::string, Value> vars_;
};

enum class Flow { kNormal, kBreak, kContinue };

class Interpreter {
 public:
  Interpreter(Limits limits, std::tm now) : limits_(limits), now_(now) {}
  ~Interpreter();  // breaks reference cycles through namespace objects (ns.self = ns)
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;
  // Remembers a namespace object so the destructor can clear it.
  void track(std::shared_ptr<Object> object) { objects_.push_back(std::move(object)); }

  // Renders `program` with `globals` as the outermost scope. Throws JinjaError.
  std::string render(const Program& program, std::shared_ptr<Scope> globals);

  // ---- used by filters, tests and methods ----
  const Limits& limits() const { return limits_; }
  const std::tm& now() const { return now_; }
  int line() const { return line_; }
  const char* construct() const { return construct_; }
  // Counts bytes produced and checks one string's size; raises when a limit is passed.
  void account(size_t bytes);
  // Checks one string's size against max_output_bytes without counting it (a buffer that grows in place).
  void check_size(size_t bytes);
  // Counts the memory of `n` new list elements against max_total_bytes (lists grow by +, * and range()).
  void account_items(size_t n);
  void step();
  Value call(const Value& callee, CallArgs& args);
  Value get_attr(const Value& obj, const std::string& name);
  Value get_item(const Value& obj, const Value& key);
  bool run_test(const std::string& name, const Value& v, CallArgs& args);
  Value run_filter(const std::string& name, const Value& v, CallArgs& args);

 private:
  friend struct DepthGuard;
  friend Value invoke_loop(Interpreter&, const Stmt&, const Value&, int);
  Flow exec(const Body& body, std::string& out);
  Flow exec_stmt(const Stmt& s, std::string& out);
  void exec_for(const Stmt& s, std::string& out);
  void run_loop(const Stmt& s, const Value& iterable, std::string& out, int depth);
  void exec_set(const Stmt& s);
  void exec_macro(const Stmt& s);
  void exec_call_block(const Stmt& s, std::string& out);
  Value make_macro(const Stmt& s, std::shared_ptr<Scope> closure, const std::string& name);

  Value eval(const Expr& e);
  Value eval_binary(const Expr& e);
  Value eval_compare(const Expr& e);
  Value eval_call(const Expr& e);
  Value eval_slice(const Expr& e);
  Value apply_filter_chain(const Expr& e, const Value& input);
  CallArgs eval_args(const Expr& e);
  Value lookup(const std::string& name);

  Limits limits_;
  std::tm now_;
  std::shared_ptr<Scope> scope_;
  int line_ = 0;
  const char* construct_ = "template";
  int depth_ = 0;
  int call_depth_ = 0;
  uint64_t total_bytes_ = 0;
  std::vector<std::shared_ptr<Object>> objects_;
};

struct DepthGuard {
  Interpreter& in;
  explicit DepthGuard(Interpreter& interp);
  ~DepthGuard() { --in.depth_; }
};

// Raises the UndefinedError (or SecurityError for a sandbox-refused attribute) that using `u` means.
[[noreturn]] void fail_undefined(const Value& u);

// Arithmetic and operators with Python semantics (operators.cc).
Value binary_op(Interpreter& in, const std::string& op, const Value& a, const Value& b);
bool contains(const Value& container, const Value& item);

// Built-in methods of str/dict/list (methods.cc); Undefined if `obj` has no such attribute.
Value get_method(Interpreter& in, const Value& obj, const std::string& name);
// Globals: range, namespace, dict, raise_exception, strftime_now, ... (methods.cc).
void add_builtin_globals(Scope& scope);

// Python str.strip family over Unicode whitespace (or over `chars` when given).
std::string py_strip(const std::string& s, const Value* chars, bool left, bool right);
// Python str.split(sep=None, maxsplit) / rsplit.
std::vector<std::string> py_split(Interpreter& in, const std::string& s, const Value* sep, int64_t maxsplit,
                                  bool from_right);
std::string py_upper(const std::string& s);
std::string py_lower(const std::string& s);
std::string py_title(const std::string& s);
std::string py_capitalize(const std::string& s);
std::string py_replace(Interpreter& in, const std::string& s, const std::string& from, const std::string& to,
                       int64_t count);
// Python str.format / printf-style % formatting, for the forms templates use.
std::string py_slice_prefix(const std::string& s, int64_t n);  // first n code points
std::string py_format(Interpreter& in, const std::string& fmt, const CallArgs& args);
std::string py_percent_format(Interpreter& in, const std::string& fmt, const Value& args);
// Python slicing of str / list with optional start/stop/step.
Value py_slice(Interpreter& in, const Value& v, const Value& start, const Value& stop, const Value& step);

}  // namespace pocket::chat
