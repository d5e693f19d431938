// Python methods of str / dict / list as the sandbox exposes them, Python string helpers, and template globals.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>

#include "chat/interpreter.h"

namespace pocket::chat {
namespace {

// Python str.isspace() for one code point given as UTF-8 bytes.
bool is_py_space(std::string_view c) {
  if (c.size() == 1) {
    unsigned char b = static_cast<unsigned char>(c[0]);
    return b == ' ' || (b >= '\t' && b <= '\r') || (b >= 0x1c && b <= 0x1f);
  }
  static const char* kSpaces[] = {"\xc2\x85", "\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\xa8", "\xe2\x80\xa9",
                                  "\xe2\x80\xaf", "\xe2\x81\x9f", "\xe3\x80\x80"};
  for (const char* s : kSpaces) {
    if (c == s) return true;
  }
  // U+2000..U+200A
  return c.size() == 3 && static_cast<unsigned char>(c[0]) == 0xe2 && static_cast<unsigned char>(c[1]) == 0x80 &&
         static_cast<unsigned char>(c[2]) >= 0x80 && static_cast<unsigned char>(c[2]) <= 0x8a;
}

const std::string& need_str(const Value& v, const char* what) {
  if (!v.is_string()) {
    if (v.is_undefined()) fail_undefined(v);
    raise("TypeError", std::string(what) + " must be str, not " + v.type_name());
  }
  return v.str();
}

int64_t int_arg(const CallArgs& a, const char* name, int index, int64_t def) {
  const Value* v = a.get(name, index);
  if (!v || v->is_none()) return def;
  if (!v->is_int()) raise("TypeError", std::string("argument '") + name + "' must be an integer");
  return v->as_int();
}

Value unsafe(const std::string& attr, const Value& obj) {
  return Value::undefined("access to attribute '" + attr + "' of '" + obj.type_name() + "' object is unsafe.");
}

bool starts_or_ends(const Value& self, const Value& arg, bool start) {
  auto test = [&](const std::string& p) {
    const std::string& s = self.str();
    if (p.size() > s.size()) return false;
    return start ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0;
  };
  if (arg.is_list() && arg.as_list().is_tuple) {
    for (const auto& p : arg.as_list().items) {
      if (test(need_str(p, "tuple item"))) return true;
    }
    return false;
  }
  return test(need_str(arg, start ? "startswith first arg" : "endswith first arg"));
}

template <typename Pred>
bool all_chars(const std::string& s, Pred pred) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

Value string_method(Interpreter& in, const Value& self, const std::string& name, CallArgs& a) {
  const std::string& s = self.str();
  charge_work(s.size() / 64);
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    return Value(py_strip(s, a.get("chars", 0), name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    std::vector<Value> parts;
    for (auto& p : py_split(in, s, a.get("sep", 0), int_arg(a, "maxsplit", 1, -1), name == "rsplit")) {
      parts.emplace_back(std::move(p));
    }
    return Value::list(std::move(parts));
  }
  if (name == "startswith" || name == "endswith") {
    const Value* p = a.get("prefix", 0);
    if (!p) raise("TypeError", name + "() takes at least 1 argument (0 given)");
    return Value(starts_or_ends(self, *p, name == "startswith"));
  }
  if (name == "upper") return Value(py_upper(s));
  if (name == "lower") return Value(py_lower(s));
  if (name == "title") return Value(py_title(s));
  if (name == "capitalize") return Value(py_capitalize(s));
  if (name == "replace") {
    if (a.positional.size() < 2) raise("TypeError", "replace() takes at least 2 arguments");
    return Value(py_replace(in, s, need_str(a.positional[0], "replace() argument 1"),
                            need_str(a.positional[1], "replace() argument 2"), int_arg(a, "count", 2, -1)));
  }
  if (name == "format") return Value(py_format(in, s, a));
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    const Value* sub = a.get("sub", 0);
    if (!sub) raise("TypeError", name + "() takes at least 1 argument (0 given)");
    const std::string& t = need_str(*sub, "argument");
    if (name == "count") {
      if (t.empty()) return Value(utf8_length(s) + 1);
      int64_t n = 0;
      for (size_t p = s.find(t); p != std::string::npos; p = s.find(t, p + t.size())) ++n;
      return Value(n);
    }
    size_t p = (name[0] == 'r') ? s.rfind(t) : s.find(t);
    if (p == std::string::npos) {
      if (name == "index" || name == "rindex") raise("ValueError", "substring not found");
      return Value(static_cast<int64_t>(-1));
    }
    return Value(utf8_length(std::string_view(s).substr(0, p)));
  }
  if (name == "join") {
    const Value* it = a.get("iterable", 0);
    if (!it) raise("TypeError", "join() takes exactly one argument (0 given)");
    std::string out;
    bool first = true;
    for (const auto& v : iterate(*it)) {
      if (!first) out += s;
      first = false;
      out += need_str(v, "sequence item");
      in.check_size(out.size());
    }
    return Value(std::move(out));
  }
  if (name == "splitlines") {
    std::vector<Value> lines;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\n' || s[i] == '\r') {
        lines.emplace_back(s.substr(start, i - start));
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        start = i + 1;
      }
    }
    if (start < s.size()) lines.emplace_back(s.substr(start));
    return Value::list(std::move(lines));
  }
  if (name == "isdigit" || name == "isnumeric" || name == "isdecimal") {
    return Value(all_chars(s, [](unsigned char c) { return std::isdigit(c) != 0; }));
  }
  if (name == "isalpha") return Value(all_chars(s, [](unsigned char c) { return std::isalpha(c) != 0 || c >= 0x80; }));
  if (name == "isalnum") return Value(all_chars(s, [](unsigned char c) { return std::isalnum(c) != 0 || c >= 0x80; }));
  if (name == "isspace") return Value(all_chars(s, [](unsigned char c) { return std::isspace(c) != 0; }));
  if (name == "isupper" || name == "islower") {
    bool up = name == "isupper", cased = false;
    for (unsigned char c : s) {
      if (std::isalpha(c)) {
        cased = true;
        if ((std::isupper(c) != 0) != up) return Value(false);
      }
    }
    return Value(cased);
  }
  if (name == "removeprefix" || name == "removesuffix") {
    const Value arg0 = a.positional.empty() ? Value() : a.positional[0];
    const std::string& p = need_str(arg0, name.c_str());
    bool pre = name == "removeprefix";
    if (p.size() <= s.size() && (pre ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0)) {
      return Value(pre ? s.substr(p.size()) : s.substr(0, s.size() - p.size()));
    }
    return self;
  }
  if (name == "ljust" || name == "rjust" || name == "center" || name == "zfill") {
    int64_t width = int_arg(a, "width", 0, 0);
    int64_t len = utf8_length(s);
    if (width <= len) return self;
    if (static_cast<uint64_t>(width) > in.limits().max_output_bytes) in.account(static_cast<size_t>(width));
    std::string fill = name == "zfill" ? "0" : " ";
    if (const Value* f = a.get("fillchar", 1); f && name != "zfill") fill = need_str(*f, "fillchar");
    int64_t pad = width - len;
    auto rep = [&](int64_t k) {
      std::string o;
      for (int64_t i = 0; i < k; ++i) o += fill;
      return o;
    };
    if (name == "ljust") return Value(s + rep(pad));
    if (name == "rjust" || name == "zfill") return Value(rep(pad) + s);
    int64_t left = pad / 2 + (pad & width & 1);
    return Value(rep(left) + s + rep(pad - left));
  }
  raise("TemplateRuntimeError", "str method '" + name + "' is not supported");
}

Value dict_method(const Value& self, const std::string& name, CallArgs& a) {
  const Dict& d = self.as_dict();
  if (name == "items") {
    std::vector<Value> out;
    for (const auto& [k, v] : d.items) out.push_back(Value::list({k, v}, true));
    return Value::list(std::move(out));
  }
  if (name == "keys" || name == "values") {
    std::vector<Value> out;
    for (const auto& [k, v] : d.items) out.push_back(name == "keys" ? k : v);
    return Value::list(std::move(out));
  }
  if (name == "get") {
    const Value* key = a.get("key", 0);
    if (!key) raise("TypeError", "get expected at least 1 argument, got 0");
    const Value* v = d.find(*key);
    if (v) return *v;
    const Value* def = a.get("default", 1);
    return def ? *def : Value::none();
  }
  if (name == "copy") return Value::dict(std::make_shared<Dict>(d));
  raise("TemplateRuntimeError", "dict method '" + name + "' is not supported");
}

}  // namespace

Value get_method(Interpreter& in, const Value& obj, const std::string& name) {
  (void)in;
  static const char* kStr[] = {"strip", "lstrip", "rstrip", "split", "rsplit", "startswith", "endswith", "upper",
                               "lower", "title", "capitalize", "replace", "format", "find", "rfind", "index",
                               "rindex", "count", "join", "splitlines", "isdigit", "isnumeric", "isdecimal",
                               "isalpha", "isalnum", "isspace", "isupper", "islower", "removeprefix",
                               "removesuffix", "ljust", "rjust", "center", "zfill"};
  auto bind = [&](auto fn) {
    Value self = obj;
    return Value::callable(name, [self, name, fn](Interpreter& interp, CallArgs& args) {
      return fn(interp, self, name, args);
    });
  };
  if (obj.is_string()) {
    for (const char* m : kStr) {
      if (name == m) {
        return bind([](Interpreter& i, const Value& s, const std::string& n, CallArgs& a) {
          return string_method(i, s, n, a);
        });
      }
    }
    return Value();
  }
  if (obj.is_dict()) {
    if (name == "items" || name == "keys" || name == "values" || name == "get" || name == "copy") {
      return bind([](Interpreter&, const Value& s, const std::string& n, CallArgs& a) { return dict_method(s, n, a); });
    }
    if (name == "pop" || name == "popitem" || name == "update" || name == "setdefault" || name == "clear") {
      return unsafe(name, obj);
    }
    return Value();
  }
  if (obj.is_list()) {
    if (name == "append" || name == "clear" || name == "pop" || name == "reverse" || name == "insert" ||
        name == "sort" || name == "extend" || name == "remove") {
      return unsafe(name, obj);
    }
    if (name == "index" || name == "count") {
      return bind([](Interpreter&, const Value& s, const std::string& n, CallArgs& a) -> Value {
        if (a.positional.empty()) raise("TypeError", n + "() takes exactly one argument (0 given)");
        int64_t count = 0;
        const auto& items = s.as_list().items;
        for (size_t i = 0; i < items.size(); ++i) {
          if (!values_equal(items[i], a.positional[0])) continue;
          if (n == "index") return Value(static_cast<int64_t>(i));
          ++count;
        }
        if (n == "index") raise("ValueError", to_repr(a.positional[0]) + " is not in list");
        return Value(count);
      });
    }
  }
  return Value();
}

std::string py_strip(const std::string& s, const Value* chars, bool left, bool right) {
  charge_work(s.size() / 64);
  std::vector<std::string> cs = utf8_chars(s);
  std::vector<std::string> set;
  bool ws = !chars || chars->is_none();
  if (!ws) {
    if (chars->is_undefined()) fail_undefined(*chars);
    set = utf8_chars(need_str(*chars, "strip arg"));
  }
  auto strip_it = [&](const std::string& c) {
    if (ws) return is_py_space(c);
    return std::find(set.begin(), set.end(), c) != set.end();
  };
  size_t b = 0, e = cs.size();
  if (left) {
    while (b < e && strip_it(cs[b])) ++b;
  }
  if (right) {
    while (e > b && strip_it(cs[e - 1])) --e;
  }
  std::string out;
  for (size_t i = b; i < e; ++i) out += cs[i];
  return out;
}

std::vector<std::string> py_split(Interpreter& in, const std::string& s, const Value* sep, int64_t maxsplit,
                                  bool from_right) {
  std::vector<std::string> out;
  if (!sep || sep->is_none()) {
    std::vector<std::string> cs = utf8_chars(s);
    std::vector<std::pair<size_t, size_t>> words;  // [begin, end) in code points
    size_t i = 0;
    while (i < cs.size()) {
      while (i < cs.size() && is_py_space(cs[i])) ++i;
      if (i >= cs.size()) break;
      size_t b = i;
      while (i < cs.size() && !is_py_space(cs[i])) ++i;
      words.emplace_back(b, i);
    }
    auto join = [&](size_t b, size_t e) {
      std::string w;
      for (size_t k = b; k < e; ++k) w += cs[k];
      return w;
    };
    if (maxsplit < 0 || static_cast<size_t>(maxsplit) >= words.size()) {
      for (auto [b, e] : words) out.push_back(join(b, e));
      return out;
    }
    size_t m = static_cast<size_t>(maxsplit);
    if (!from_right) {
      for (size_t k = 0; k < m; ++k) out.push_back(join(words[k].first, words[k].second));
      size_t rest = words[m].first;
      size_t end = cs.size();
      while (end > rest && is_py_space(cs[end - 1])) --end;
      out.push_back(join(rest, end));
    } else {
      size_t n = words.size();
      size_t begin = 0;
      while (begin < cs.size() && is_py_space(cs[begin])) ++begin;
      out.push_back(join(begin, words[n - m - 1].second));
      for (size_t k = n - m; k < n; ++k) out.push_back(join(words[k].first, words[k].second));
    }
    return out;
  }
  const std::string& d = need_str(*sep, "separator");
  if (d.empty()) raise("ValueError", "empty separator");
  std::vector<size_t> cuts;
  if (!from_right) {
    for (size_t p = s.find(d); p != std::string::npos && (maxsplit < 0 || static_cast<int64_t>(cuts.size()) < maxsplit);
         p = s.find(d, p + d.size())) {
      cuts.push_back(p);
      in.step();
    }
  } else {
    size_t limit = s.size();
    while (maxsplit < 0 || static_cast<int64_t>(cuts.size()) < maxsplit) {
      if (limit < d.size()) break;
      size_t p = s.rfind(d, limit - d.size());
      if (p == std::string::npos) break;
      cuts.insert(cuts.begin(), p);
      limit = p;
      in.step();
    }
  }
  size_t start = 0;
  for (size_t c : cuts) {
    out.push_back(s.substr(start, c - start));
    start = c + d.size();
  }
  out.push_back(s.substr(start));
  return out;
}

std::string py_upper(const std::string& s) {
  std::string o = s;
  for (char& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return o;
}

std::string py_lower(const std::string& s) {
  std::string o = s;
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string py_title(const std::string& s) {
  std::string o = s;
  bool prev_cased = false;
  for (char& c : o) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalpha(u)) {
      c = static_cast<char>(prev_cased ? std::tolower(u) : std::toupper(u));
      prev_cased = true;
    } else {
      prev_cased = u >= 0x80 && prev_cased;
    }
  }
  return o;
}

std::string py_capitalize(const std::string& s) {
  std::string o = py_lower(s);
  if (!o.empty()) o[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(o[0])));
  return o;
}

std::string py_replace(Interpreter& in, const std::string& s, const std::string& from, const std::string& to,
                       int64_t count) {
  charge_work(s.size() / 64);
  std::string out;
  if (from.empty()) {
    // Python inserts `to` between every code point (and at both ends).
    std::vector<std::string> cs = utf8_chars(s);
    int64_t done = 0;
    for (size_t i = 0; i <= cs.size(); ++i) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      if (i < cs.size()) out += cs[i];
      in.check_size(out.size());
    }
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  for (size_t p = s.find(from); p != std::string::npos && (count < 0 || done < count); p = s.find(from, start)) {
    out.append(s, start, p - start);
    out += to;
    start = p + from.size();
    ++done;
    in.check_size(out.size());
  }
  out.append(s, start, std::string::npos);
  in.account(out.size());
  return out;
}

void add_builtin_globals(Scope& scope) {
  scope.set("range", Value::callable("range", [](Interpreter& in, CallArgs& a) -> Value {
    std::vector<int64_t> p;
    for (const auto& v : a.positional) {
      if (!v.is_int()) raise("TypeError", "'" + v.type_name() + "' object cannot be interpreted as an integer");
      p.push_back(v.as_int());
    }
    if (p.empty() || p.size() > 3) raise("TypeError", "range expected 1 to 3 arguments");
    int64_t start = p.size() == 1 ? 0 : p[0], stop = p.size() == 1 ? p[0] : p[1], step = p.size() == 3 ? p[2] : 1;
    if (step == 0) raise("ValueError", "range() arg 3 must not be zero");
    std::vector<Value> out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (static_cast<int64_t>(out.size()) >= in.limits().max_range) {
        raise("MemoryError", "range() longer than the limit of " + std::to_string(in.limits().max_range) + " items");
      }
      out.emplace_back(i);
      if (out.size() % 4096 == 0) in.account_items(4096);
      if (__builtin_add_overflow(i, step, &i)) break;
      i -= step;
    }
    return Value::list(std::move(out));
  }));
  scope.set("namespace", Value::callable("namespace", [](Interpreter& in, CallArgs& a) -> Value {
    auto o = std::make_shared<Object>();
    o->type_name = "Namespace";
    in.track(o);
    for (const auto& v : a.positional) {
      if (!v.is_dict()) raise("TypeError", "namespace() positional argument must be a dict");
      for (const auto& [k, x] : v.as_dict().items) o->set(to_str(k), x);
    }
    for (const auto& [k, v] : a.keyword) o->set(k, v);
    return Value::object(std::move(o));
  }));
  scope.set("dict", Value::callable("dict", [](Interpreter&, CallArgs& a) -> Value {
    auto d = std::make_shared<Dict>();
    for (const auto& v : a.positional) {
      if (v.is_dict()) *d = v.as_dict();
    }
    for (const auto& [k, v] : a.keyword) d->set(Value(k), v);
    return Value::dict(std::move(d));
  }));
  scope.set("raise_exception", Value::callable("raise_exception", [](Interpreter&, CallArgs& a) -> Value {
    raise("TemplateError", a.positional.empty() ? std::string() : to_str(a.positional[0]));
  }));
  scope.set("strftime_now", Value::callable("strftime_now", [](Interpreter& in, CallArgs& a) -> Value {
    const Value* f = a.get("format", 0);
    if (!f) raise("TypeError", "strftime_now() missing 1 required positional argument: 'format'");
    const std::string& fmt = need_str(*f, "strftime_now format");
    if (fmt.empty()) return Value("");
    std::tm tm = in.now();
    std::vector<char> buf(fmt.size() * 8 + 256);
    size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
    return Value(std::string(buf.data(), n));
  }));
}

}  // namespace pocket::chat
