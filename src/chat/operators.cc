// Python operator semantics: + - * / // % ** ~, `in`, slicing.
#include <cmath>
#include <optional>

#include "chat/interpreter.h"

namespace pocket::chat {
namespace {

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  raise("TypeError", "unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() +
                         "'");
}

int64_t checked_op(char op, int64_t a, int64_t b) {
  int64_t r = 0;
  bool overflow = op == '+' ? __builtin_add_overflow(a, b, &r)
                  : op == '-' ? __builtin_sub_overflow(a, b, &r)
                              : __builtin_mul_overflow(a, b, &r);
  if (overflow) raise("OverflowError", "integer result does not fit in 64 bits");
  return r;
}

Value repeat(Interpreter& in, const Value& seq, int64_t n) {
  if (n <= 0) return seq.is_string() ? Value("") : Value::list({}, seq.as_list().is_tuple);
  if (seq.is_string()) {
    const std::string& s = seq.str();
    if (!s.empty() && static_cast<uint64_t>(n) > in.limits().max_output_bytes / s.size()) {
      in.account(in.limits().max_output_bytes + 1);
    }
    in.account(s.size() * static_cast<size_t>(n));
    std::string out;
    out.reserve(s.size() * static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out += s;
    return Value(std::move(out));
  }
  const auto& items = seq.as_list().items;
  if (!items.empty() && static_cast<uint64_t>(n) > static_cast<uint64_t>(in.limits().max_range) / items.size()) {
    raise("MemoryError", "list repetition of " + std::to_string(items.size()) + " x " + std::to_string(n) +
                             " items exceeds the limit of " + std::to_string(in.limits().max_range));
  }
  in.account_items(items.size() * static_cast<size_t>(n));
  std::vector<Value> out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::list(std::move(out), seq.as_list().is_tuple);
}

double py_fmod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

}  // namespace

Value binary_op(Interpreter& in, const std::string& op, const Value& a, const Value& b) {
  if (op == "~") {
    std::string s = to_str(a) + to_str(b);
    in.account(s.size());
    return Value(std::move(s));
  }
  bool ints = a.is_int() && b.is_int();
  bool nums = a.is_number() && b.is_number();
  if (op == "+") {
    if (ints) return Value(checked_op('+', a.as_int(), b.as_int()));
    if (nums) return Value(a.as_double() + b.as_double());
    if (a.is_string() && b.is_string()) {
      in.account(a.str().size() + b.str().size());
      if (a.is_markup() || b.is_markup()) {  // Markup.__add__ / __radd__ escape the plain operand
        return Value::markup((a.is_markup() ? a.str() : html_escape(a.str())) +
                             (b.is_markup() ? b.str() : html_escape(b.str())));
      }
      return Value(a.str() + b.str());
    }
    if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
      std::vector<Value> items = a.as_list().items;
      if (items.size() + b.as_list().items.size() > static_cast<size_t>(in.limits().max_range)) {
        raise("MemoryError", "list concatenation exceeds the limit of " + std::to_string(in.limits().max_range));
      }
      in.account_items(items.size() + b.as_list().items.size());
      items.insert(items.end(), b.as_list().items.begin(), b.as_list().items.end());
      return Value::list(std::move(items), a.as_list().is_tuple);
    }
    if (b.is_undefined()) fail_undefined(b);
    if (a.is_undefined()) fail_undefined(a);
    if (a.is_string() || a.is_list()) {
      raise("TypeError", "can only concatenate " + a.type_name() + " (not \"" + b.type_name() + "\") to " +
                             a.type_name());
    }
    unsupported(op, a, b);
  }
  if (op == "-") {
    if (ints) return Value(checked_op('-', a.as_int(), b.as_int()));
    if (nums) return Value(a.as_double() - b.as_double());
    unsupported(op, a, b);
  }
  if (op == "*") {
    if (ints) return Value(checked_op('*', a.as_int(), b.as_int()));
    if (nums) return Value(a.as_double() * b.as_double());
    if ((a.is_string() || a.is_list()) && b.is_int()) return repeat(in, a, b.as_int());
    if ((b.is_string() || b.is_list()) && a.is_int()) return repeat(in, b, a.as_int());
    unsupported(op, a, b);
  }
  if (op == "/") {
    if (!nums) unsupported(op, a, b);
    if (b.as_double() == 0) raise("ZeroDivisionError", "division by zero");
    return Value(a.as_double() / b.as_double());
  }
  if (op == "//" || op == "%") {
    if (op == "%" && a.is_string()) return Value(py_percent_format(in, a.str(), b));
    if (!nums) unsupported(op, a, b);
    if (b.as_double() == 0) raise("ZeroDivisionError", "integer division or modulo by zero");
    if (ints) {
      int64_t x = a.as_int(), y = b.as_int();
      if (x == INT64_MIN && y == -1) raise("OverflowError", "integer result does not fit in 64 bits");
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        --q;
        m += y;
      }
      return Value(op == "//" ? q : m);
    }
    double x = a.as_double(), y = b.as_double();
    if (op == "%") return Value(py_fmod(x, y));
    return Value(std::floor(x / y));
  }
  if (op == "**") {
    if (!nums) unsupported(op, a, b);
    if (ints && b.as_int() >= 0) {
      int64_t base = a.as_int(), e = b.as_int(), acc = 1;
      for (int64_t i = 0; i < e; ++i) {
        if (__builtin_mul_overflow(acc, base, &acc)) raise("OverflowError", "integer result does not fit in 64 bits");
        if (acc == 0 || acc == 1) break;
        in.step();
      }
      if (acc == 1 && base == -1) acc = (e % 2) ? -1 : 1;
      return Value(acc);
    }
    return Value(std::pow(a.as_double(), b.as_double()));
  }
  raise("TemplateRuntimeError", "unknown operator '" + op + "'");
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::kUndefined: return false;
    case Kind::kString:
      if (!item.is_string()) {
        if (item.is_undefined()) fail_undefined(item);
        raise("TypeError", "'in <string>' requires string as left operand, not " + item.type_name());
      }
      charge_work(container.str().size() / 64);
      return container.str().find(item.str()) != std::string::npos;
    case Kind::kList:
      charge_work(container.as_list().items.size());
      for (const auto& v : container.as_list().items) {
        if (values_equal(v, item)) return true;
      }
      return false;
    case Kind::kDict: return container.as_dict().find(item) != nullptr;
    case Kind::kObject: return item.is_string() && container.as_object().find(item.str()) != nullptr;
    default: raise("TypeError", "argument of type '" + container.type_name() + "' is not iterable");
  }
}

Value py_slice(Interpreter& in, const Value& v, const Value& start, const Value& stop, const Value& step) {
  (void)in;
  if (!v.is_string() && !v.is_list()) {
    if (v.is_undefined()) fail_undefined(v);
    // Jinja compiles slices to plain Python subscription (bypassing getitem): a TypeError.
    if (v.is_dict()) raise("TypeError", "unhashable type: 'slice'");
    raise("TypeError", "'" + v.type_name() + "' object is not subscriptable");
  }
  auto as_index = [](const Value& x, const char* what) -> std::optional<int64_t> {
    if (x.is_none()) return std::nullopt;
    if (!x.is_int()) raise("TypeError", std::string("slice ") + what + " must be an integer or None");
    return x.as_int();
  };
  int64_t st = as_index(step, "step").value_or(1);
  if (st == 0) raise("ValueError", "slice step cannot be zero");
  bool ascii = true;
  std::vector<std::string> chars;
  int64_t n;
  if (v.is_string()) {
    for (unsigned char c : v.str()) ascii = ascii && c < 0x80;
    if (!ascii) chars = utf8_chars(v.str());
    n = ascii ? static_cast<int64_t>(v.str().size()) : static_cast<int64_t>(chars.size());
  } else {
    n = static_cast<int64_t>(v.as_list().items.size());
  }
  auto clamp = [&](std::optional<int64_t> x, int64_t def) {
    if (!x) return def;
    int64_t i = *x;
    if (i < 0) {
      i += n;
      if (i < 0) i = st < 0 ? -1 : 0;
    } else if (i >= n) {
      i = st < 0 ? n - 1 : n;
    }
    return i;
  };
  int64_t b = clamp(as_index(start, "indices"), st < 0 ? n - 1 : 0);
  int64_t e = clamp(as_index(stop, "indices"), st < 0 ? -1 : n);
  std::vector<int64_t> idx;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) idx.push_back(i);
  if (v.is_string()) {
    std::string out;
    for (int64_t i : idx) {
      if (ascii) {
        out += v.str()[static_cast<size_t>(i)];
      } else {
        out += chars[static_cast<size_t>(i)];
      }
    }
    return Value(std::move(out));
  }
  std::vector<Value> out;
  for (int64_t i : idx) out.push_back(v.as_list().items[static_cast<size_t>(i)]);
  return Value::list(std::move(out), v.as_list().is_tuple);
}

}  // namespace pocket::chat
