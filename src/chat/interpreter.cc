// Statements and the evaluation core: scopes, loops, macros, attribute/item access, calls.
#include "chat/interpreter.h"

namespace pocket::chat {

[[noreturn]] void fail_undefined(const Value& u) {
  const std::string& hint = u.str();
  if (hint.rfind("access to attribute ", 0) == 0) raise("SecurityError", hint);
  raise("UndefinedError", hint.empty() ? "value is undefined" : hint);
}

const Value* Scope::lookup(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent_.get()) {
    auto it = s->vars_.find(name);
    if (it != s->vars_.end()) return &it->second;
  }
  return nullptr;
}

DepthGuard::DepthGuard(Interpreter& interp) : in(interp) {
  if (++in.depth_ > in.limits_.max_depth) {
    --in.depth_;
    raise("RecursionError", "template nesting too deep (evaluation depth over " +
                                std::to_string(in.limits_.max_depth) + ")");
  }
}

Interpreter::~Interpreter() {
  for (auto& o : objects_) o->attrs.clear();
  reset_work_budget(UINT64_MAX);
}

void Interpreter::check_size(size_t bytes) {
  if (bytes > limits_.max_output_bytes) {
    raise("OutputLimitError", "a string of " + std::to_string(bytes) + " bytes exceeds the output limit of " +
                                  std::to_string(limits_.max_output_bytes) + " bytes");
  }
}

void Interpreter::account(size_t bytes) {
  if (bytes > limits_.max_output_bytes) {
    raise("OutputLimitError", "a string of " + std::to_string(bytes) + " bytes exceeds the output limit of " +
                                  std::to_string(limits_.max_output_bytes) + " bytes");
  }
  total_bytes_ += bytes;
  if (total_bytes_ > limits_.max_total_bytes) {
    raise("OutputLimitError", "rendering produced more than " + std::to_string(limits_.max_total_bytes) + " bytes");
  }
}

void Interpreter::account_items(size_t n) {
  total_bytes_ += n * sizeof(Value);
  if (total_bytes_ > limits_.max_total_bytes) {
    raise("MemoryError", "rendering built lists larger than " + std::to_string(limits_.max_total_bytes) + " bytes");
  }
}

void Interpreter::step() { charge_work(1); }

namespace {
void emit(Interpreter& in, std::string& out, std::string_view s) {
  if (s.empty()) return;
  in.check_size(out.size() + s.size());
  in.account(s.size());
  out.append(s);
}
}  // namespace

std::string Interpreter::render(const Program& program, std::shared_ptr<Scope> globals) {
  scope_ = std::make_shared<Scope>(std::move(globals));
  reset_work_budget(limits_.max_steps);
  std::string out;
  exec(program.body, out);
  scope_.reset();
  return out;
}

Flow Interpreter::exec(const Body& body, std::string& out) {
  for (const auto& s : body) {
    Flow f = exec_stmt(*s, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Flow Interpreter::exec_stmt(const Stmt& s, std::string& out) {
  DepthGuard guard(*this);
  step();
  line_ = s.line;
  static const char* kConstructs[] = {"text", "{{ ... }}", "{% if %}", "{% for %}", "{% set %}", "{% set %} block",
                                      "{% macro %}", "{% call %}", "{% filter %}", "{% break %}", "{% continue %}",
                                      "{% generation %}"};
  construct_ = kConstructs[static_cast<int>(s.kind)];
  switch (s.kind) {
    case StmtKind::kText: emit(*this, out, s.text); break;
    case StmtKind::kOutput: {
      Value v = eval(*s.expr);
      if (v.is_string()) {
        emit(*this, out, v.str());
      } else {
        emit(*this, out, to_str(v));
      }
      break;
    }
    case StmtKind::kIf:
      for (size_t i = 0; i < s.conds.size(); ++i) {
        if (eval(*s.conds[i]).truthy()) return exec(s.bodies[i], out);
      }
      return exec(s.else_body, out);
    case StmtKind::kFor: exec_for(s, out); break;
    case StmtKind::kSet: exec_set(s); break;
    case StmtKind::kSetBlock: {
      std::string buf;
      exec(s.body, buf);
      Value v(std::move(buf));
      if (s.expr) v = apply_filter_chain(*s.expr, v);
      scope_->set(s.targets[0], std::move(v));
      break;
    }
    case StmtKind::kMacro: scope_->set(s.name, make_macro(s, scope_, s.name)); break;
    case StmtKind::kCallBlock: exec_call_block(s, out); break;
    case StmtKind::kFilterBlock: {
      std::string buf;
      exec(s.body, buf);
      Value v = apply_filter_chain(*s.expr, Value(std::move(buf)));
      emit(*this, out, to_str(v));
      break;
    }
    case StmtKind::kBreak: return Flow::kBreak;
    case StmtKind::kContinue: return Flow::kContinue;
    case StmtKind::kScope: return exec(s.body, out);
  }
  return Flow::kNormal;
}

namespace {
void bind_targets(Scope& scope, const std::vector<std::string>& targets, const Value& item) {
  if (targets.size() == 1) {
    scope.set(targets[0], item);
    return;
  }
  std::vector<Value> parts = iterate(item);
  if (parts.size() != targets.size()) {
    raise("ValueError", (parts.size() < targets.size() ? "not enough values to unpack (expected "
                                                         : "too many values to unpack (expected ") +
                            std::to_string(targets.size()) + ", got " + std::to_string(parts.size()) + ")");
  }
  for (size_t i = 0; i < targets.size(); ++i) scope.set(targets[i], parts[i]);
}
}  // namespace

void Interpreter::exec_for(const Stmt& s, std::string& out) {
  Value iterable = eval(*s.expr);
  run_loop(s, iterable, out, 0);
}

void Interpreter::run_loop(const Stmt& s, const Value& iterable, std::string& out, int depth) {
  if (iterable.is_undefined() && !iterable.str().empty() && iterable.str().rfind("access to", 0) == 0) {
    fail_undefined(iterable);
  }
  std::vector<Value> items = iterate(iterable);
  auto outer = scope_;
  scope_ = std::make_shared<Scope>(outer);
  if (s.cond) {
    std::vector<Value> kept;
    for (auto& item : items) {
      step();
      bind_targets(*scope_, s.targets, item);
      if (eval(*s.cond).truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  const int64_t n = static_cast<int64_t>(items.size());
  // The loop object is built once; its attributes are updated in place each iteration (cheap per step).
  auto loop = std::make_shared<Object>();
  loop->type_name = "LoopContext";
  auto position = std::make_shared<int64_t>(0);
  const char* kNames[] = {"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0",
                          "previtem", "nextitem"};
  for (const char* name : kNames) loop->attrs.emplace_back(name, Value());
  loop->attrs.emplace_back("cycle", Value::callable("cycle", [position](Interpreter&, CallArgs& a) -> Value {
    if (a.positional.empty()) raise("TypeError", "no items for cycling given");
    return a.positional[static_cast<size_t>(*position) % a.positional.size()];
  }));
  if (s.recursive) {
    const Stmt* stmt = &s;
    loop->attrs.emplace_back("__call__", Value::callable("loop", [stmt, depth](Interpreter& in, CallArgs& a) {
      if (a.positional.size() != 1) raise("TypeError", "loop() takes exactly one argument");
      if (++in.call_depth_ > in.limits_.max_call_depth) {
        raise("RecursionError", "recursive loop nested deeper than " + std::to_string(in.limits_.max_call_depth));
      }
      std::string buf;
      auto saved = in.scope_;
      in.run_loop(*stmt, a.positional[0], buf, depth + 1);
      in.scope_ = saved;
      --in.call_depth_;
      return Value(std::move(buf));
    }));
  }
  auto& at = loop->attrs;
  at[6].second = Value(n);
  at[7].second = Value(static_cast<int64_t>(depth + 1));
  at[8].second = Value(static_cast<int64_t>(depth));
  for (int64_t i = 0; i < n; ++i) {
    step();
    scope_ = std::make_shared<Scope>(outer);  // Jinja: names set in one iteration do not reach the next
    scope_->set("loop", Value::object(loop));
    bind_targets(*scope_, s.targets, items[i]);
    *position = i;
    at[0].second = Value(i + 1);
    at[1].second = Value(i);
    at[2].second = Value(n - i);
    at[3].second = Value(n - i - 1);
    at[4].second = Value(i == 0);
    at[5].second = Value(i == n - 1);
    at[9].second = i > 0 ? items[i - 1] : Value::undefined("there is no previous item");
    at[10].second = i + 1 < n ? items[i + 1] : Value::undefined("there is no next item");
    Flow f = exec(s.body, out);
    if (f == Flow::kBreak) break;
  }
  if (n == 0) exec(s.else_body, out);
  scope_ = outer;
}

void Interpreter::exec_set(const Stmt& s) {
  Value v = eval(*s.expr);
  if (!s.name.empty()) {
    const Value* target = scope_->lookup(s.targets[0]);
    if (!target || !target->is_object() || target->as_object().type_name != "Namespace") {
      raise("TemplateRuntimeError", "cannot assign attribute on non-namespace object");
    }
    target->as_object().set(s.name, std::move(v));
    return;
  }
  bind_targets(*scope_, s.targets, v);
}

Value Interpreter::make_macro(const Stmt& s, std::shared_ptr<Scope> closure, const std::string& name) {
  const Stmt* def = &s;
  std::weak_ptr<Scope> weak = closure;  // weak: the macro is stored in that scope (no reference cycle)
  return Value::callable(name, [def, weak](Interpreter& in, CallArgs& args) -> Value {
    if (++in.call_depth_ > in.limits_.max_call_depth) {
      raise("RecursionError", "macro '" + def->name + "' nested deeper than " +
                                  std::to_string(in.limits_.max_call_depth) + " calls");
    }
    auto saved = in.scope_;
    auto parent = weak.lock();
    in.scope_ = std::make_shared<Scope>(parent ? parent : saved);
    auto kw = std::make_shared<Dict>();
    std::vector<bool> bound(def->params.size(), false);
    for (size_t i = 0; i < def->params.size() && i < args.positional.size(); ++i) {
      in.scope_->set(def->params[i].first, args.positional[i]);
      bound[i] = true;
    }
    std::vector<Value> varargs;
    for (size_t i = def->params.size(); i < args.positional.size(); ++i) varargs.push_back(args.positional[i]);
    if (!varargs.empty() && !def->uses_varargs) {
      raise("TypeError", "macro '" + def->name + "' takes not more than " + std::to_string(def->params.size()) +
                             " argument(s)");
    }
    for (auto& [k, v] : args.keyword) {
      bool matched = false;
      for (size_t i = 0; i < def->params.size(); ++i) {
        if (def->params[i].first == k) {
          in.scope_->set(k, v);
          bound[i] = matched = true;
        }
      }
      if (!matched && k == "caller" && def->uses_caller) {
        in.scope_->set(k, v);
      } else if (!matched && def->uses_kwargs) {
        kw->set(Value(k), v);
      } else if (!matched) {
        raise("TypeError", k == "caller" ? "macro '" + def->name + "' was invoked with a caller it does not use"
                                         : "macro '" + def->name + "' takes no keyword argument '" + k + "'");
      }
    }
    for (size_t i = 0; i < def->params.size(); ++i) {
      if (bound[i]) continue;
      in.scope_->set(def->params[i].first,
                     def->params[i].second ? in.eval(*def->params[i].second)
                                           : Value::undefined("parameter '" + def->params[i].first +
                                                              "' was not provided"));
    }
    in.scope_->set("varargs", Value::list(std::move(varargs), true));
    in.scope_->set("kwargs", Value::dict(kw));
    std::string buf;
    in.exec(def->body, buf);
    in.scope_ = saved;
    --in.call_depth_;
    return Value(std::move(buf));
  });
}

void Interpreter::exec_call_block(const Stmt& s, std::string& out) {
  const Stmt* def = &s;
  auto captured = scope_;
  Value caller = Value::callable("caller", [def, captured](Interpreter& in, CallArgs& args) -> Value {
    if (++in.call_depth_ > in.limits_.max_call_depth) raise("RecursionError", "caller() nested too deeply");
    auto saved = in.scope_;
    in.scope_ = std::make_shared<Scope>(captured);
    for (size_t i = 0; i < def->params.size(); ++i) {
      const Value* v = args.get(def->params[i].first, static_cast<int>(i));
      in.scope_->set(def->params[i].first,
                     v ? *v : (def->params[i].second ? in.eval(*def->params[i].second) : Value::undefined()));
    }
    std::string buf;
    in.exec(def->body, buf);
    in.scope_ = saved;
    --in.call_depth_;
    return Value(std::move(buf));
  });
  const Expr& call = *s.expr;
  Value callee = eval(*call.base);
  CallArgs args = eval_args(call);
  args.keyword.emplace_back("caller", caller);
  Value v = this->call(callee, args);
  emit(*this, out, to_str(v));
}

Value Interpreter::lookup(const std::string& name) {
  const Value* v = scope_->lookup(name);
  if (v) return *v;
  return Value::undefined("'" + name + "' is undefined");
}

CallArgs Interpreter::eval_args(const Expr& e) {
  CallArgs args;
  for (const auto& a : e.args) args.positional.push_back(eval(*a));
  for (const auto& [k, a] : e.kwargs) args.keyword.emplace_back(k, eval(*a));
  return args;
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  DepthGuard guard(*this);
  if (callee.is_callable()) return callee.as_callable().fn(*this, args);
  if (callee.is_undefined()) fail_undefined(callee);
  if (callee.is_object()) {
    const Value* fn = callee.as_object().find("__call__");
    if (fn && fn->is_callable()) return fn->as_callable().fn(*this, args);
  }
  raise("TypeError", "'" + callee.type_name() + "' object is not callable");
}

namespace {
std::string object_type_repr(const Value& obj) {
  if (obj.is_none()) return "None";
  return obj.type_name() + " object";
}
}  // namespace

Value Interpreter::get_attr(const Value& obj, const std::string& name) {
  switch (obj.kind()) {
    case Kind::kUndefined: fail_undefined(obj);
    case Kind::kDict: {
      Value m = get_method(*this, obj, name);
      if (!m.is_undefined() || !m.str().empty()) return m;
      const Value* v = obj.as_dict().find(name);
      if (v) return *v;
      break;
    }
    case Kind::kObject: {
      const Value* v = obj.as_object().find(name);
      if (v) return *v;
      break;
    }
    default: {
      Value m = get_method(*this, obj, name);
      if (!m.is_undefined() || !m.str().empty()) return m;
    }
  }
  std::string t = object_type_repr(obj);
  return Value::undefined((obj.is_none() ? "'None'" : "'" + t + "'") + " has no attribute '" + name + "'");
}

Value Interpreter::get_item(const Value& obj, const Value& key) {
  switch (obj.kind()) {
    case Kind::kUndefined: fail_undefined(obj);
    case Kind::kDict: {
      const Value* v = obj.as_dict().find(key);
      if (v) return *v;
      break;
    }
    case Kind::kList:
    case Kind::kString:
      if (key.is_int()) {
        int64_t n = obj.length();
        int64_t i = key.as_int();
        if (i < 0) i += n;
        if (i >= 0 && i < n) {
          if (obj.is_list()) return obj.as_list().items[static_cast<size_t>(i)];
          return py_slice(*this, obj, Value(i), Value(i + 1), Value::none());
        }
      }
      break;
    case Kind::kObject: {
      if (key.is_string()) {
        const Value* v = obj.as_object().find(key.str());
        if (v) return *v;
      }
      break;
    }
    default: break;
  }
  if (key.is_string()) {
    Value m = get_attr(obj, key.str());
    if (!m.is_undefined()) return m;
    if (!obj.is_dict()) return m;
    return Value::undefined("'dict object' has no attribute '" + key.str() + "'");
  }
  return Value::undefined(object_type_repr(obj) + " has no element " + to_repr(key));
}

}  // namespace pocket::chat
