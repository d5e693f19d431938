// Expression evaluation.
#include "chat/interpreter.h"

namespace pocket::chat {

Value Interpreter::eval(const Expr& e) {
  DepthGuard guard(*this);
  step();
  line_ = e.line;
  switch (e.kind) {
    case ExprKind::kLiteral: return e.literal;
    case ExprKind::kName: return lookup(e.name);
    case ExprKind::kList:
    case ExprKind::kTuple: {
      std::vector<Value> items;
      items.reserve(e.args.size());
      for (const auto& a : e.args) items.push_back(eval(*a));
      return Value::list(std::move(items), e.kind == ExprKind::kTuple);
    }
    case ExprKind::kDict: {
      auto d = std::make_shared<Dict>();
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        Value k = eval(*e.args[i]);
        if (k.is_list() && !k.as_list().is_tuple) raise("TypeError", "unhashable type: 'list'");
        if (k.is_dict()) raise("TypeError", "unhashable type: 'dict'");
        d->set(k, eval(*e.args[i + 1]));
      }
      return Value::dict(std::move(d));
    }
    case ExprKind::kGetAttr: {
      Value base = eval(*e.base);
      line_ = e.line;
      return get_attr(base, e.name);
    }
    case ExprKind::kGetItem: {
      Value base = eval(*e.base);
      Value key = eval(*e.args[0]);
      line_ = e.line;
      return get_item(base, key);
    }
    case ExprKind::kSlice: return eval_slice(e);
    case ExprKind::kCall: return eval_call(e);
    case ExprKind::kFilter: return apply_filter_chain(e, Value());
    case ExprKind::kTest: {
      Value v = eval(*e.base);
      CallArgs args = eval_args(e);
      line_ = e.line;
      bool r = run_test(e.name, v, args);
      return Value(e.negated ? !r : r);
    }
    case ExprKind::kUnary: {
      Value v = eval(*e.base);
      if (e.name == "not") return Value(!v.truthy());
      if (v.is_undefined()) fail_undefined(v);
      if (v.kind() == Kind::kFloat) return Value(e.name == "-" ? -v.as_double() : v.as_double());
      if (v.is_int()) {
        if (e.name == "+") return Value(v.as_int());
        if (v.as_int() == INT64_MIN) raise("OverflowError", "integer overflow in negation");
        return Value(-v.as_int());
      }
      raise("TypeError", "bad operand type for unary " + e.name + ": '" + v.type_name() + "'");
    }
    case ExprKind::kBinary: return eval_binary(e);
    case ExprKind::kCompare: return eval_compare(e);
    case ExprKind::kCondExpr: {
      if (eval(*e.base).truthy()) return eval(*e.args[0]);
      if (e.args[1]) return eval(*e.args[1]);
      return Value::undefined("the inline if-expression evaluated to false and no else section was defined");
    }
  }
  return Value();
}

Value Interpreter::eval_binary(const Expr& e) {
  if (e.name == "and") {
    Value a = eval(*e.base);
    if (!a.truthy()) return a;
    return eval(*e.args[0]);
  }
  if (e.name == "or") {
    Value a = eval(*e.base);
    if (a.truthy()) return a;
    return eval(*e.args[0]);
  }
  Value a = eval(*e.base);
  Value b = eval(*e.args[0]);
  line_ = e.line;
  return binary_op(*this, e.name, a, b);
}

Value Interpreter::eval_compare(const Expr& e) {
  Value left = eval(*e.base);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.args[i]);
    line_ = e.line;
    const std::string& op = e.ops[i];
    bool r;
    if (op == "==") {
      r = values_equal(left, right);
    } else if (op == "!=") {
      r = !values_equal(left, right);
    } else if (op == "in") {
      r = contains(right, left);
    } else if (op == "notin") {
      r = !contains(right, left);
    } else {
      int c = compare_values(left, right, op.c_str());
      r = op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0;
    }
    if (!r) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

Value Interpreter::eval_call(const Expr& e) {
  Value callee = eval(*e.base);
  CallArgs args = eval_args(e);
  line_ = e.line;
  return call(callee, args);
}

Value Interpreter::eval_slice(const Expr& e) {
  Value base = eval(*e.base);
  Value start = e.args[0] ? eval(*e.args[0]) : Value::none();
  Value stop = e.args[1] ? eval(*e.args[1]) : Value::none();
  Value stride = e.args[2] ? eval(*e.args[2]) : Value::none();
  line_ = e.line;
  return py_slice(*this, base, start, stop, stride);
}

Value Interpreter::apply_filter_chain(const Expr& e, const Value& input) {
  DepthGuard guard(*this);
  Value v;
  if (!e.base) {
    v = input;
  } else if (e.base->kind == ExprKind::kFilter) {
    v = apply_filter_chain(*e.base, input);
  } else {
    v = eval(*e.base);
  }
  CallArgs args = eval_args(e);
  line_ = e.line;
  return run_filter(e.name, v, args);
}

}  // namespace pocket::chat
