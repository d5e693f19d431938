#include "chat/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "base/utf8.h"

namespace pocket::chat {

void raise(std::string type, std::string message) { throw JinjaError{std::move(type), std::move(message)}; }

namespace {
thread_local uint64_t t_work_used = 0;
thread_local uint64_t t_work_budget = UINT64_MAX;
}  // namespace

void reset_work_budget(uint64_t budget) {
  t_work_used = 0;
  t_work_budget = budget;
}

void charge_work(uint64_t units) {
  t_work_used += units;
  if (t_work_used > t_work_budget) {
    raise("StepLimitError", "template exceeded its work budget of " + std::to_string(t_work_budget) +
                                " steps (endless or huge loop?)");
  }
}

Value Value::undefined(std::string hint) {
  Value v;
  v.s_ = std::move(hint);
  return v;
}

Value Value::list(std::vector<Value> items, bool tuple) {
  Value v;
  v.kind_ = Kind::kList;
  v.list_ = std::make_shared<List>(List{std::move(items), tuple});
  return v;
}

Value Value::dict(std::shared_ptr<Dict> d) {
  Value v;
  v.kind_ = Kind::kDict;
  v.dict_ = std::move(d);
  return v;
}

Value Value::object(std::shared_ptr<Object> o) {
  Value v;
  v.kind_ = Kind::kObject;
  v.obj_ = std::move(o);
  return v;
}

Value Value::callable(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn) {
  Value v;
  v.kind_ = Kind::kCallable;
  v.fn_ = std::make_shared<Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::none();
    case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e));
      return Value::list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto d = std::make_shared<Dict>();
      for (auto it = j.begin(); it != j.end(); ++it) d->items.emplace_back(Value(it.key()), from_json(it.value()));
      return Value::dict(std::move(d));
    }
    default: return Value::none();
  }
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::kUndefined: case Kind::kNone: return false;
    case Kind::kBool: return b_;
    case Kind::kInt: return i_ != 0;
    case Kind::kFloat: return f_ != 0.0;
    case Kind::kString: return !s_.empty();
    case Kind::kList: return !list_->items.empty();
    case Kind::kDict: return !dict_->items.empty();
    default: return true;
  }
}

std::string Value::type_name() const {
  switch (kind_) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return list_->is_tuple ? "tuple" : "list";
    case Kind::kDict: return "dict";
    case Kind::kObject: return obj_->type_name;
    case Kind::kCallable: return "function";
  }
  return "object";
}

int64_t Value::length() const {
  switch (kind_) {
    case Kind::kUndefined: return 0;
    case Kind::kString: return utf8_length(s_);
    case Kind::kList: return static_cast<int64_t>(list_->items.size());
    case Kind::kDict: return static_cast<int64_t>(dict_->items.size());
    default: raise("TypeError", "object of type '" + type_name() + "' has no len()");
  }
}

const Value* Dict::find(const Value& key) const {
  charge_work(items.size() / 8);
  for (const auto& [k, v] : items) {
    if (values_equal(k, key)) return &v;
  }
  return nullptr;
}

const Value* Dict::find(std::string_view key) const {
  charge_work(items.size() / 8);
  for (const auto& [k, v] : items) {
    if (k.is_string() && k.str() == key) return &v;
  }
  return nullptr;
}

void Dict::set(const Value& key, Value value) {
  for (auto& [k, v] : items) {
    if (values_equal(k, key)) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(key, std::move(value));
}

const Value* Object::find(std::string_view name) const {
  for (const auto& [k, v] : attrs) {
    if (k == name) return &v;
  }
  return nullptr;
}

void Object::set(const std::string& name, Value value) {
  for (auto& [k, v] : attrs) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  attrs.emplace_back(name, std::move(value));
}

const Value* CallArgs::get(std::string_view name, int index) const {
  for (const auto& [k, v] : keyword) {
    if (k == name) return &v;
  }
  if (index >= 0 && static_cast<size_t>(index) < positional.size()) return &positional[index];
  return nullptr;
}

bool values_equal(const Value& a, const Value& b) {
  if (a.is_list() && b.is_list() && &a.as_list() == &b.as_list()) return true;  // identity, as CPython's lists
  if (a.is_dict() && b.is_dict() && &a.as_dict() == &b.as_dict()) return true;
  if (a.is_number() && b.is_number()) {
    if (a.kind() == Kind::kFloat || b.kind() == Kind::kFloat) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  charge_work(1);
  switch (a.kind()) {
    case Kind::kUndefined: case Kind::kNone: return true;
    case Kind::kString: charge_work(a.str().size() / 64); return a.str() == b.str();
    case Kind::kList: {
      const auto& x = a.as_list().items;
      const auto& y = b.as_list().items;
      if (a.as_list().is_tuple != b.as_list().is_tuple || x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!values_equal(x[i], y[i])) return false;
      }
      return true;
    }
    case Kind::kDict: {
      const auto& x = a.as_dict();
      const auto& y = b.as_dict();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* o = y.find(k);
        if (!o || !values_equal(v, *o)) return false;
      }
      return true;
    }
    case Kind::kObject: return &a.as_object() == &b.as_object();
    case Kind::kCallable: return &a.as_callable() == &b.as_callable();
    default: return false;
  }
}

int compare_values(const Value& a, const Value& b, const char* op) {
  if (a.is_number() && b.is_number()) {
    if (a.kind() == Kind::kFloat || b.kind() == Kind::kFloat) {
      double x = a.as_double(), y = b.as_double();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    int64_t x = a.as_int(), y = b.as_int();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    int c = a.str().compare(b.str());  // UTF-8 byte order equals code point order
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
    const auto& x = a.as_list().items;
    const auto& y = b.as_list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (values_equal(x[i], y[i])) continue;
      return compare_values(x[i], y[i], op);
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  if (a.is_undefined() || b.is_undefined()) {
    raise("UndefinedError", (a.is_undefined() ? a : b).str().empty() ? "value is undefined"
                                                                       : (a.is_undefined() ? a : b).str());
  }
  raise("TypeError", std::string("'") + op + "' not supported between instances of '" + a.type_name() + "' and '" +
                         b.type_name() + "'");
}

std::string float_repr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  if (f == 0) return std::signbit(f) ? "-0.0" : "0.0";
  // Shortest round-trip digits, then Python's layout: scientific when exp < -4 or exp >= 16.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  bool neg = sci[0] == '-';
  if (neg) sci.erase(0, 1);
  size_t e = sci.find('e');
  std::string mant = sci.substr(0, e);
  int exp = std::stoi(sci.substr(e + 1));
  std::string digits;
  for (char c : mant) {
    if (c != '.') digits += c;
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out;
  if (exp < -4 || exp >= 16) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof(eb), "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    out += eb;
  } else if (exp < 0) {
    out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  } else {
    size_t int_len = static_cast<size_t>(exp) + 1;
    if (digits.size() <= int_len) {
      out = digits + std::string(int_len - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
  }
  return neg ? "-" + out : out;
}

// Python's repr of a str: single quotes unless the text has ' and no ", escapes \\ \n \r \t and control chars.
std::string string_repr(std::string_view s) {
  bool has_single = s.find('\'') != std::string_view::npos;
  bool has_double = s.find('"') != std::string_view::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == quote || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  return out;
}

namespace {

void check_repr_size(const std::string& out) {
  if (out.size() > kMaxStringBytes) {
    raise("OutputLimitError", "the printed value exceeds the output limit of " + std::to_string(kMaxStringBytes) +
                                  " bytes");
  }
}

void append_repr(std::string& out, const Value& v, int depth) {
  if (depth > 500) raise("RecursionError", "maximum recursion depth exceeded while getting the repr of an object");
  switch (v.kind()) {
    case Kind::kString:
      out += v.is_markup() ? "Markup(" + string_repr(v.str()) + ")" : string_repr(v.str());
      break;
    case Kind::kList: {
      const List& l = v.as_list();
      out += l.is_tuple ? "(" : "[";
      for (size_t i = 0; i < l.items.size(); ++i) {
        if (i) out += ", ";
        append_repr(out, l.items[i], depth + 1);
        check_repr_size(out);
      }
      if (l.is_tuple && l.items.size() == 1) out += ",";
      out += l.is_tuple ? ")" : "]";
      break;
    }
    case Kind::kDict: {
      out += "{";
      bool first = true;
      for (const auto& [k, x] : v.as_dict().items) {
        if (!first) out += ", ";
        first = false;
        append_repr(out, k, depth + 1);
        out += ": ";
        append_repr(out, x, depth + 1);
        check_repr_size(out);
      }
      out += "}";
      break;
    }
    case Kind::kUndefined: out += "Undefined"; break;
    default: out += to_str(v);
  }
}

}  // namespace

std::string to_repr(const Value& v) {
  std::string out;
  append_repr(out, v, 0);
  return out;
}

std::string to_str(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return "";
    case Kind::kNone: return "None";
    case Kind::kBool: return v.as_bool() ? "True" : "False";
    case Kind::kInt: return std::to_string(v.as_int());
    case Kind::kFloat: return float_repr(v.as_double());
    case Kind::kString: return v.str();
    case Kind::kList: case Kind::kDict: return to_repr(v);
    case Kind::kObject: {
      const Object& o = v.as_object();
      if (o.type_name != "Namespace") return "<" + o.type_name + " object>";
      std::string out = "<Namespace {";
      bool first = true;
      for (const auto& [k, x] : o.attrs) {
        if (!first) out += ", ";
        first = false;
        out += string_repr(k) + ": " + to_repr(x);
      }
      return out + "}>";
    }
    case Kind::kCallable: return "<function " + v.as_callable().name + ">";
  }
  return "";
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

std::string json_key(const Value& k) {
  if (k.is_string()) return k.str();
  if (k.is_none()) return "null";
  if (k.is_bool()) return k.as_bool() ? "true" : "false";
  if (k.kind() == Kind::kInt) return std::to_string(k.as_int());
  if (k.kind() == Kind::kFloat) return float_repr(k.as_double());
  raise("TypeError", "keys must be str, int, float, bool or None, not " + k.type_name());
}

struct JsonWriter {
  int indent;
  const std::string& item_sep;
  const std::string& key_sep;
  bool sort_keys;
  std::string out;
  int depth = 0;

  void newline(int level) {
    out += '\n';
    out.append(static_cast<size_t>(indent) * static_cast<size_t>(level), ' ');
  }

  void write(const Value& v) {
    if (out.size() > kMaxStringBytes) {
      raise("OutputLimitError", "tojson output exceeds the limit of " + std::to_string(kMaxStringBytes) + " bytes");
    }
    if (++depth > 500) raise("RecursionError", "maximum recursion depth exceeded while encoding a JSON object");
    switch (v.kind()) {
      case Kind::kNone: out += "null"; break;
      case Kind::kBool: out += v.as_bool() ? "true" : "false"; break;
      case Kind::kInt: out += std::to_string(v.as_int()); break;
      case Kind::kFloat: {
        double f = v.as_double();
        out += std::isnan(f) ? "NaN" : std::isinf(f) ? (f > 0 ? "Infinity" : "-Infinity") : float_repr(f);
        break;
      }
      case Kind::kString: json_string(out, v.str()); break;
      case Kind::kList: write_list(v.as_list().items); break;
      case Kind::kDict: write_dict(v.as_dict()); break;
      default:
        raise("TypeError", "Object of type " + v.type_name() + " is not JSON serializable");
    }
    --depth;
  }

  void write_list(const std::vector<Value>& items) {
    if (items.empty()) {
      out += "[]";
      return;
    }
    out += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += item_sep;
      if (indent >= 0) newline(depth);
      write(items[i]);
    }
    if (indent >= 0) newline(depth - 1);
    out += ']';
  }

  void write_dict(const Dict& d) {
    if (d.items.empty()) {
      out += "{}";
      return;
    }
    std::vector<std::pair<std::string, const Value*>> entries;
    for (const auto& [k, v] : d.items) entries.emplace_back(json_key(k), &v);
    if (sort_keys) {
      std::stable_sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.first < b.first; });
    }
    out += '{';
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i) out += item_sep;
      if (indent >= 0) newline(depth);
      json_string(out, entries[i].first);
      out += key_sep;
      write(*entries[i].second);
    }
    if (indent >= 0) newline(depth - 1);
    out += '}';
  }
};

}  // namespace

std::string to_json(const Value& v, int indent, const std::string& item_sep, const std::string& key_sep,
                    bool sort_keys) {
  JsonWriter w{indent, item_sep, key_sep, sort_keys, {}};
  w.write(v);
  return std::move(w.out);
}

std::vector<std::string> utf8_chars(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t n = utf8_sequence_length(static_cast<unsigned char>(s[i]));
    if (n == 0 || i + n > s.size()) n = 1;
    out.emplace_back(s.substr(i, n));
    i += n;
  }
  return out;
}

int64_t utf8_length(std::string_view s) {
  int64_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::vector<Value> iterate(const Value& v) {
  std::vector<Value> out;
  if (v.is_list()) charge_work(v.as_list().items.size());
  if (v.is_dict()) charge_work(v.as_dict().items.size());
  if (v.is_string()) charge_work(v.str().size() / 16);
  switch (v.kind()) {
    case Kind::kUndefined: break;
    case Kind::kList: out = v.as_list().items; break;
    case Kind::kDict:
      for (const auto& kv : v.as_dict().items) out.push_back(kv.first);
      break;
    case Kind::kString:
      for (auto& c : utf8_chars(v.str())) out.emplace_back(std::move(c));
      break;
    default: raise("TypeError", "'" + v.type_name() + "' object is not iterable");
  }
  return out;
}

}  // namespace pocket::chat
