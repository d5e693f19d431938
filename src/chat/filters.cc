// Jinja's built-in filters and tests (the subset chat templates use), with transformers' `tojson`.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "chat/interpreter.h"

namespace pocket::chat {
namespace {

const Value* arg(const CallArgs& a, const char* name, int index) { return a.get(name, index); }

bool bool_arg(const CallArgs& a, const char* name, int index, bool def) {
  const Value* v = a.get(name, index);
  return v ? v->truthy() : def;
}

// Jinja's make_attrgetter: "a.b.0" looked up item by item (digits as integers).
Value attr_path(Interpreter& in, const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool digits = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    v = in.get_item(v, digits ? Value(static_cast<int64_t>(std::strtoll(part.c_str(), nullptr, 10))) : Value(part));
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

// Jinja's title filter: chunks split at runs of [-\s({\[<]; each chunk's first character upper-cased, the rest
// lower-cased (unlike Python's str.title()).
std::string jinja_title(const std::string& s) {
  auto is_sep = [](char c) {
    return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || c == ' ' || (c >= '\t' && c <= '\r');
  };
  std::string out = s;
  bool chunk_start = true;
  for (char& c : out) {
    if (is_sep(c)) {
      chunk_start = true;
      continue;
    }
    unsigned char u = static_cast<unsigned char>(c);
    c = static_cast<char>(chunk_start ? std::toupper(u) : std::tolower(u));
    chunk_start = false;
  }
  return out;
}

Value lower_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(py_lower(v.str()));
  return v;
}

void sort_values(std::vector<Value>& items, const std::vector<Value>& keys, bool reverse) {
  charge_work(items.size() * 16);
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    int c = compare_values(keys[a], keys[b], "<");
    return reverse ? c > 0 : c < 0;
  });
  std::vector<Value> sorted;
  for (size_t i : order) sorted.push_back(items[i]);
  items = std::move(sorted);
}

std::optional<int64_t> parse_int(std::string s, int base) {
  s = py_strip(s, nullptr, true, true);
  std::string clean;
  for (char c : s) {
    if (c != '_') clean += c;
  }
  if (clean.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(clean.c_str(), &end, base);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return static_cast<int64_t>(v);
}

std::optional<double> parse_float(const std::string& s0) {
  std::string s = py_strip(s0, nullptr, true, true);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (*end != '\0') return std::nullopt;
  return v;
}

Value min_max(Interpreter& in, const Value& v, const CallArgs& a, bool want_max) {
  std::vector<Value> items = iterate(v);
  if (items.empty()) return Value::undefined(std::string("No aggregated item, sequence was empty."));
  bool cs = bool_arg(a, "case_sensitive", 0, false);
  const Value* attr = arg(a, "attribute", 1);
  size_t best = 0;
  auto key = [&](size_t i) {
    Value k = attr && !attr->is_none() ? attr_path(in, items[i], to_str(*attr)) : items[i];
    return lower_key(k, cs);
  };
  for (size_t i = 1; i < items.size(); ++i) {
    int c = compare_values(key(i), key(best), "<");
    if (want_max ? c > 0 : c < 0) best = i;
  }
  return items[best];
}

Value select_items(Interpreter& in, const Value& v, CallArgs& a, bool by_attr, bool keep) {
  std::vector<Value> out;
  if (!v.truthy()) return Value::list({});  // Jinja: `if value:` before iterating (None selects nothing)
  size_t first_test_arg = by_attr ? 1 : 0;
  std::string attr;
  if (by_attr) {
    if (a.positional.empty()) raise("TypeError", "selectattr/rejectattr need an attribute name");
    attr = to_str(a.positional[0]);
  }
  bool has_test = a.positional.size() > first_test_arg;
  std::string test = has_test ? to_str(a.positional[first_test_arg]) : "";
  CallArgs test_args;
  for (size_t i = first_test_arg + 1; i < a.positional.size(); ++i) test_args.positional.push_back(a.positional[i]);
  test_args.keyword = a.keyword;
  for (const auto& item : iterate(v)) {
    in.step();
    Value x = by_attr ? attr_path(in, item, attr) : item;
    bool r = has_test ? in.run_test(test, x, test_args) : x.truthy();
    if (r == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value tojson(Interpreter& in, const Value& v, const CallArgs& a) {
  const Value* ind = arg(a, "indent", 0);
  int indent = -1;
  if (ind && !ind->is_none()) {
    if (!ind->is_int()) raise("TypeError", "tojson indent must be an integer");
    indent = static_cast<int>(std::clamp<int64_t>(ind->as_int(), 0, 64));
  }
  std::string item_sep = indent >= 0 ? "," : ", ", key_sep = ": ";
  if (const Value* sep = arg(a, "separators", 1); sep && !sep->is_none()) {
    if (!sep->is_list() || sep->as_list().items.size() != 2) raise("ValueError", "separators must be a pair");
    item_sep = to_str(sep->as_list().items[0]);
    key_sep = to_str(sep->as_list().items[1]);
  }
  std::string out = to_json(v, indent, item_sep, key_sep, bool_arg(a, "sort_keys", 2, false));
  in.account(out.size());
  return Value(std::move(out));
}

Value indent_filter(const Value& v, const CallArgs& a) {
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_string()) raise("TypeError", "unsupported operand type(s) for +=: '" + v.type_name() + "' and 'str'");
  std::string ind = "    ";
  if (const Value* w = arg(a, "width", 0)) {
    if (w->is_string()) {
      ind = w->str();
    } else if (w->is_int()) {
      ind = std::string(static_cast<size_t>(std::clamp<int64_t>(w->as_int(), 0, 1000)), ' ');
    }
  }
  bool first = bool_arg(a, "first", 1, false), blank = bool_arg(a, "blank", 2, false);
  std::string s = to_str(v) + "\n";
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' || s[i] == '\r') {
      lines.push_back(s.substr(start, i - start));
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  std::string rv;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) rv += "\n" + ((blank || !lines[i].empty()) ? ind : std::string());
    rv += lines[i];
  }
  return Value(first ? ind + rv : rv);
}

Value truncate_filter(const Value& v, const CallArgs& a) {
  std::string s = to_str(v);
  int64_t length = 255;
  if (const Value* l = arg(a, "length", 0); l && l->is_int()) length = l->as_int();
  bool killwords = bool_arg(a, "killwords", 1, false);
  std::string end = "...";
  if (const Value* e = arg(a, "end", 2)) end = to_str(*e);
  int64_t leeway = 5;
  if (const Value* l = arg(a, "leeway", 3); l && l->is_int()) leeway = l->as_int();
  std::vector<std::string> cs = utf8_chars(s);
  if (static_cast<int64_t>(cs.size()) <= length + leeway) return Value(s);
  int64_t keep = std::max<int64_t>(0, length - utf8_length(end));
  std::string head;
  for (int64_t i = 0; i < keep && static_cast<size_t>(i) < cs.size(); ++i) head += cs[static_cast<size_t>(i)];
  if (!killwords) {
    size_t sp = head.rfind(' ');
    if (sp != std::string::npos) head = head.substr(0, sp);
  }
  return Value(head + end);
}

// Filters over sequences and mappings: join, map, select..., items, dictsort, list, sort, unique, reverse, replace.
std::optional<Value> sequence_filter(Interpreter& in, const std::string& name, const Value& v, CallArgs& a) {
  if (name == "join") {
    std::string sep = a.get("d", 0) ? to_str(*a.get("d", 0)) : "";
    const Value* attr = arg(a, "attribute", 1);
    std::string out;
    bool first = true;
    for (const auto& item : iterate(v)) {
      if (!first) out += sep;
      first = false;
      out += to_str(attr && !attr->is_none() ? attr_path(in, item, to_str(*attr)) : item);
      in.check_size(out.size());
    }
    return Value(std::move(out));
  }
  if (name == "map") {
    std::vector<Value> out;
    if (!v.truthy()) return Value::list({});  // Jinja: `if value:` before iterating
    const Value* attr = a.get("attribute", -1);
    if (attr) {
      const Value* def = a.get("default", -1);
      for (const auto& item : iterate(v)) {
        Value x = attr_path(in, item, to_str(*attr));
        out.push_back(x.is_undefined() && def ? *def : x);
      }
    } else {
      if (a.positional.empty()) raise("FilterArgumentError", "map requires a filter argument");
      std::string filter = to_str(a.positional[0]);
      CallArgs rest;
      rest.positional.assign(a.positional.begin() + 1, a.positional.end());
      rest.keyword = a.keyword;
      for (const auto& item : iterate(v)) out.push_back(in.run_filter(filter, item, rest));
    }
    return Value::list(std::move(out));
  }
  if (name == "select" || name == "reject") return select_items(in, v, a, false, name == "select");
  if (name == "selectattr" || name == "rejectattr") return select_items(in, v, a, true, name == "selectattr");
  if (name == "items") {
    if (v.is_undefined()) return Value::list({});
    if (!v.is_dict()) raise("TypeError", "Can only get item pairs from a mapping.");
    CallArgs none;
    return get_method(in, v, "items").as_callable().fn(in, none);
  }
  if (name == "dictsort") {
    if (!v.is_dict()) raise("FilterArgumentError", "dictsort: expected a mapping, got " + v.type_name());
    bool cs = bool_arg(a, "case_sensitive", 0, false);
    const Value* by = arg(a, "by", 1);
    bool by_value = by && to_str(*by) == "value";
    std::vector<Value> items, keys;
    for (const auto& [k, x] : v.as_dict().items) {
      items.push_back(Value::list({k, x}, true));
      keys.push_back(lower_key(by_value ? x : k, cs));
    }
    sort_values(items, keys, bool_arg(a, "reverse", 2, false));
    return Value::list(std::move(items));
  }
  if (name == "list") return Value::list(iterate(v));
  if (name == "sort" || name == "unique") {
    std::vector<Value> items = iterate(v);
    bool sort = name == "sort";
    bool cs = bool_arg(a, "case_sensitive", sort ? 1 : 0, false);
    const Value* attr = arg(a, "attribute", sort ? 2 : 1);
    std::vector<Value> keys;
    for (const auto& item : items) {
      in.step();
      keys.push_back(lower_key(attr && !attr->is_none() ? attr_path(in, item, to_str(*attr)) : item, cs));
    }
    if (sort) {
      sort_values(items, keys, bool_arg(a, "reverse", 0, false));
      return Value::list(std::move(items));
    }
    std::vector<Value> out, seen;
    for (size_t i = 0; i < items.size(); ++i) {
      bool dup = false;
      charge_work(seen.size());
      for (const auto& s : seen) dup = dup || values_equal(s, keys[i]);
      if (!dup) {
        seen.push_back(keys[i]);
        out.push_back(items[i]);
      }
      in.step();
    }
    return Value::list(std::move(out));
  }
  if (name == "reverse") {
    if (v.is_string()) {
      std::vector<std::string> cs = utf8_chars(v.str());
      std::string out;
      for (auto it = cs.rbegin(); it != cs.rend(); ++it) out += *it;
      return Value(std::move(out));
    }
    std::vector<Value> items = iterate(v);
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "replace") {
    if (a.positional.size() < 2) raise("TypeError", "replace filter needs old and new strings");
    const Value* count = arg(a, "count", 2);
    return Value(py_replace(in, to_str(v), to_str(a.positional[0]), to_str(a.positional[1]),
                            count && count->is_int() ? count->as_int() : -1));
  }
  return std::nullopt;
}

// Numeric conversions: int, float, abs, round.
std::optional<Value> number_filter(Interpreter& in, const std::string& name, const Value& v, CallArgs& a) {
  if (name == "int") {
    const Value* def = arg(a, "default", 0);
    Value fallback = def ? *def : Value(static_cast<int64_t>(0));
    if (v.is_int()) return Value(v.as_int());
    if (v.kind() == Kind::kFloat) {
      double f = v.as_double();
      if (!std::isfinite(f) || std::fabs(f) > 9.2e18) return fallback;
      return Value(static_cast<int64_t>(f));
    }
    if (v.is_string()) {
      const Value* base = arg(a, "base", 1);
      if (auto i = parse_int(v.str(), base && base->is_int() ? static_cast<int>(base->as_int()) : 10)) return Value(*i);
      if (auto f = parse_float(v.str()); f && std::isfinite(*f) && std::fabs(*f) < 9.2e18) {
        return Value(static_cast<int64_t>(*f));
      }
    }
    return fallback;
  }
  if (name == "float") {
    const Value* def = arg(a, "default", 0);
    if (v.is_number()) return Value(v.as_double());
    if (v.is_string()) {
      if (auto f = parse_float(v.str())) return Value(*f);
    }
    return def ? *def : Value(0.0);
  }
  if (name == "abs") {
    if (v.kind() == Kind::kFloat) return Value(std::fabs(v.as_double()));
    if (v.is_int()) {
      if (v.as_int() == INT64_MIN) raise("OverflowError", "integer overflow in abs");
      return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
    }
    raise("TypeError", "bad operand type for abs(): '" + v.type_name() + "'");
  }
  if (name == "round") {
    if (!v.is_number()) raise("TypeError", "type " + v.type_name() + " doesn't define __round__ method");
    int64_t precision = 0;
    if (const Value* p = arg(a, "precision", 0); p && p->is_int()) precision = std::clamp<int64_t>(p->as_int(), -20, 20);
    std::string method = arg(a, "method", 1) ? to_str(*arg(a, "method", 1)) : "common";
    if (method == "common" && v.is_int() && precision >= 0) return Value(v.as_int());  // Python round(int, n) -> int
    double scale = std::pow(10.0, static_cast<double>(precision));
    double x = v.as_double() * scale;
    double r = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::nearbyint(x);
    return Value(r / scale);
  }
  return std::nullopt;
}

// Text and aggregate filters: escape, indent, truncate, wordcount, center, sum, min/max, batch, format, attr.
std::optional<Value> text_filter(Interpreter& in, const std::string& name, const Value& v, CallArgs& a) {
  if ((name == "escape" || name == "e") && v.is_markup()) return v;
  if (name == "escape" || name == "e" || name == "forceescape") return Value::markup(html_escape(to_str(v)));
  if (name == "indent") return indent_filter(v, a);
  if (name == "truncate") return truncate_filter(v, a);
  if (name == "wordcount") {
    int64_t n = 0;
    bool in_word = false;
    for (unsigned char c : to_str(v)) {
      bool w = std::isalnum(c) || c == '_' || c >= 0x80;
      if (w && !in_word) ++n;
      in_word = w;
    }
    return Value(n);
  }
  if (name == "center") {
    CallArgs c;
    c.positional.push_back(arg(a, "width", 0) ? *arg(a, "width", 0) : Value(static_cast<int64_t>(80)));
    return get_method(in, Value(to_str(v)), "center").as_callable().fn(in, c);
  }
  if (name == "sum") {
    const Value* attr = arg(a, "attribute", 0);
    Value total = arg(a, "start", 1) ? *arg(a, "start", 1) : Value(static_cast<int64_t>(0));
    for (const auto& item : iterate(v)) {
      total = binary_op(in, "+", total, attr && !attr->is_none() ? attr_path(in, item, to_str(*attr)) : item);
    }
    return total;
  }
  if (name == "min" || name == "max") return min_max(in, v, a, name == "max");
  if (name == "batch") {
    const Value* n = arg(a, "linecount", 0);
    if (!n || !n->is_int() || n->as_int() <= 0) raise("FilterArgumentError", "batch needs a positive line count");
    const Value* fill = arg(a, "fill_with", 1);
    std::vector<Value> out, cur;
    for (const auto& item : iterate(v)) {
      cur.push_back(item);
      if (static_cast<int64_t>(cur.size()) == n->as_int()) {
        out.push_back(Value::list(std::move(cur)));
        cur.clear();
      }
    }
    if (!cur.empty()) {
      while (fill && !fill->is_none() && static_cast<int64_t>(cur.size()) < n->as_int()) cur.push_back(*fill);
      out.push_back(Value::list(std::move(cur)));
    }
    return Value::list(std::move(out));
  }
  if (name == "format") {
    if (!a.keyword.empty()) {
      auto d = std::make_shared<Dict>();
      for (const auto& [k, x] : a.keyword) d->set(Value(k), x);
      return Value(py_percent_format(in, to_str(v), Value::dict(d)));
    }
    return Value(py_percent_format(in, to_str(v), Value::list(a.positional, true)));
  }
  if (name == "attr") {
    if (a.positional.empty()) raise("TypeError", "attr filter needs a name");
    return in.get_attr(v, to_str(a.positional[0]));
  }
  return std::nullopt;
}

}  // namespace

Value Interpreter::run_filter(const std::string& name, const Value& v, CallArgs& a) {
  if (name == "tojson") return tojson(*this, v, a);
  if (name == "trim") {
    std::string t = py_strip(to_str(v), arg(a, "chars", 0), true, true);
    return v.is_markup() ? Value::markup(std::move(t)) : Value(std::move(t));
  }
  if (name == "length" || name == "count") return Value(v.length());
  if (name == "string") return v.is_string() ? v : Value(to_str(v));
  if (name == "safe") return v.is_markup() ? v : Value::markup(to_str(v));
  if (name == "default" || name == "d") {
    bool boolean = bool_arg(a, "boolean", 1, false);
    if (v.is_undefined() || (boolean && !v.truthy())) {
      const Value* d = arg(a, "default_value", 0);
      return d ? *d : Value("");
    }
    return v;
  }
  if (name == "upper") return Value(py_upper(to_str(v)));
  if (name == "lower") return Value(py_lower(to_str(v)));
  if (name == "capitalize") return Value(py_capitalize(to_str(v)));
  if (name == "title") return Value(jinja_title(to_str(v)));
  if (name == "first" || name == "last") {
    std::vector<Value> items = iterate(v);
    if (items.empty()) return Value::undefined("No " + name + " item, sequence was empty.");
    return name == "first" ? items.front() : items.back();
  }
  for (auto* group : {&sequence_filter, &number_filter, &text_filter}) {
    if (auto r = group(*this, name, v, a)) return std::move(*r);
  }
  raise("TemplateRuntimeError", "No filter named '" + name + "' found.");
}

bool Interpreter::run_test(const std::string& name, const Value& v, CallArgs& a) {
  const Value* other = a.positional.empty() ? nullptr : &a.positional[0];
  auto need_other = [&]() -> const Value& {
    if (!other) raise("TypeError", "test '" + name + "' needs an argument");
    return *other;
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.kind() == Kind::kInt;
  if (name == "float") return v.kind() == Kind::kFloat;
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable" || name == "sequence") return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
  if (name == "callable") return v.is_callable();
  if (name == "odd" || name == "even") {  // Python: value % 2 == 1 / == 0 (floats allowed)
    if (v.kind() == Kind::kFloat) {
      double m = std::fmod(v.as_double(), 2.0);
      if (m < 0) m += 2.0;
      return name == "odd" ? m == 1.0 : m == 0.0;
    }
    if (!v.is_int()) raise("TypeError", "unsupported operand type(s) for %: '" + v.type_name() + "' and 'int'");
    int64_t m = v.as_int() % 2;
    return name == "odd" ? m != 0 : m == 0;
  }
  if (name == "divisibleby") {
    const Value& d = need_other();
    if (!v.is_int() || !d.is_int()) raise("TypeError", "divisibleby needs integers");
    if (d.as_int() == 0) raise("ZeroDivisionError", "integer division or modulo by zero");
    return v.as_int() % d.as_int() == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return values_equal(v, need_other());
  if (name == "ne" || name == "!=") return !values_equal(v, need_other());
  if (name == "lt" || name == "lessthan" || name == "<") return compare_values(v, need_other(), "<") < 0;
  if (name == "le" || name == "<=") return compare_values(v, need_other(), "<=") <= 0;
  if (name == "gt" || name == "greaterthan" || name == ">") return compare_values(v, need_other(), ">") > 0;
  if (name == "ge" || name == ">=") return compare_values(v, need_other(), ">=") >= 0;
  if (name == "in") return contains(need_other(), v);
  if (name == "sameas") {
    const Value& o = need_other();
    if (v.kind() != o.kind()) return false;
    if (v.is_list() || v.is_dict() || v.is_string()) return values_equal(v, o) && v.kind() != Kind::kString;
    return values_equal(v, o);
  }
  if (name == "lower" || name == "upper") {
    if (!v.is_string()) return false;
    bool cased = false;
    for (unsigned char c : v.str()) {
      if (std::isalpha(c)) {
        cased = true;
        if ((name == "lower") != (std::islower(c) != 0)) return false;
      }
    }
    return cased;
  }
  if (name == "escaped") return false;
  raise("TemplateRuntimeError", "No test named '" + name + "' found.");
}

}  // namespace pocket::chat
