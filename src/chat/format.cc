// Python string formatting: str.format() and printf-style `%`, for the forms chat templates use.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "chat/interpreter.h"

namespace pocket::chat {
namespace {

// Applies a format spec [[fill]align][sign][0][width][.precision][type] to `v` (the common subset).
std::string apply_spec(const Value& v, const std::string& spec, bool repr) {
  if (spec.empty()) return repr ? to_repr(v) : to_str(v);
  size_t i = 0;
  char fill = ' ', align = '\0';
  if (spec.size() >= 2 && (spec[1] == '<' || spec[1] == '>' || spec[1] == '^')) {
    fill = spec[0];
    align = spec[1];
    i = 2;
  } else if (spec[0] == '<' || spec[0] == '>' || spec[0] == '^') {
    align = spec[0];
    i = 1;
  }
  bool plus = false;
  if (i < spec.size() && (spec[i] == '+' || spec[i] == '-')) plus = spec[i++] == '+';
  if (i < spec.size() && spec[i] == '0') {
    fill = '0';
    if (!align) align = '=';
    ++i;
  }
  int width = 0;
  while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) {
    width = width * 10 + (spec[i++] - '0');
    if (width > 100000) raise("ValueError", "format width too large");
  }
  int precision = -1;
  if (i < spec.size() && spec[i] == '.') {
    precision = 0;
    ++i;
    while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) {
      precision = precision * 10 + (spec[i++] - '0');
      if (precision > 1000) raise("ValueError", "format precision too large");
    }
  }
  char type = i < spec.size() ? spec[i++] : '\0';
  if (i != spec.size()) raise("ValueError", "Invalid format specifier '" + spec + "'");
  std::string body;
  if (type == 'f' || type == 'F' || type == 'e' || type == 'g' || type == '%') {
    if (!v.is_number()) raise("ValueError", "Unknown format code '" + std::string(1, type) + "' for " + v.type_name());
    double x = v.as_double() * (type == '%' ? 100 : 1);
    char fmt[16];
    std::snprintf(fmt, sizeof(fmt), "%%%s.%d%c", plus ? "+" : "", precision < 0 ? 6 : precision,
                  type == '%' ? 'f' : type);
    char buf[1200];
    std::snprintf(buf, sizeof(buf), fmt, x);
    body = buf;
    if (type == '%') body += '%';
  } else if (type == 'd') {
    if (!v.is_int()) raise("ValueError", "Unknown format code 'd' for object of type '" + v.type_name() + "'");
    body = (plus && v.as_int() >= 0 ? "+" : "") + std::to_string(v.as_int());
  } else if (type == '\0' || type == 's') {
    body = to_str(v);
    if (precision >= 0 && v.is_string()) body = py_slice_prefix(body, precision);
    if (!align) align = v.is_number() ? '>' : '<';
  } else {
    raise("ValueError", "unsupported format type '" + std::string(1, type) + "'");
  }
  int64_t len = utf8_length(body);
  if (len >= width) return body;
  size_t pad = static_cast<size_t>(width - len);
  if (!align) align = '>';
  if (align == '<') return body + std::string(pad, fill);
  if (align == '^') return std::string(pad / 2, fill) + body + std::string(pad - pad / 2, fill);
  if (align == '=' && !body.empty() && (body[0] == '-' || body[0] == '+')) {
    return body.substr(0, 1) + std::string(pad, fill) + body.substr(1);
  }
  return std::string(pad, fill) + body;
}

}  // namespace

std::string py_slice_prefix(const std::string& s, int64_t n) {
  std::vector<std::string> cs = utf8_chars(s);
  std::string out;
  for (int64_t i = 0; i < n && static_cast<size_t>(i) < cs.size(); ++i) out += cs[static_cast<size_t>(i)];
  return out;
}

std::string py_format(Interpreter& in, const std::string& fmt, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') ++i;
      else raise("ValueError", "Single '}' encountered in format string");
      out += '}';
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    size_t close = fmt.find('}', i);
    if (close == std::string::npos) raise("ValueError", "Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    i = close;
    std::string spec;
    bool repr = false;
    if (size_t colon = field.find(':'); colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field = field.substr(0, colon);
    }
    if (size_t bang = field.find('!'); bang != std::string::npos) {
      repr = field.substr(bang + 1) == "r";
      field = field.substr(0, bang);
    }
    // field: name or index, then .attr / [key] parts.
    size_t p = 0;
    while (p < field.size() && field[p] != '.' && field[p] != '[') ++p;
    std::string head = field.substr(0, p);
    Value v;
    if (head.empty()) {
      if (auto_index >= args.positional.size()) raise("IndexError", "Replacement index out of range");
      v = args.positional[auto_index++];
    } else if (std::isdigit(static_cast<unsigned char>(head[0]))) {
      size_t k = static_cast<size_t>(std::strtoull(head.c_str(), nullptr, 10));
      if (k >= args.positional.size()) raise("IndexError", "Replacement index out of range");
      v = args.positional[k];
    } else {
      const Value* kv = args.get(head, -1);
      if (!kv) raise("KeyError", string_repr(head));
      v = *kv;
    }
    while (p < field.size()) {
      if (field[p] == '.') {
        size_t q = p + 1;
        while (q < field.size() && field[q] != '.' && field[q] != '[') ++q;
        v = in.get_attr(v, field.substr(p + 1, q - p - 1));
        p = q;
      } else {
        size_t q = field.find(']', p);
        if (q == std::string::npos) raise("ValueError", "Missing ']' in format string");
        std::string key = field.substr(p + 1, q - p - 1);
        bool digits = !key.empty() && key.find_first_not_of("0123456789") == std::string::npos;
        v = in.get_item(v, digits ? Value(static_cast<int64_t>(std::strtoll(key.c_str(), nullptr, 10))) : Value(key));
        p = q + 1;
      }
    }
    out += apply_spec(v, spec, repr);
    in.check_size(out.size());
  }
  return out;
}

std::string py_percent_format(Interpreter& in, const std::string& fmt, const Value& args) {
  std::vector<Value> items;
  const Dict* mapping = args.is_dict() ? &args.as_dict() : nullptr;
  if (args.is_list() && args.as_list().is_tuple) {
    items = args.as_list().items;
  } else {
    items.push_back(args);
  }
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i >= fmt.size()) raise("ValueError", "incomplete format");
    Value v;
    bool have = false;
    if (fmt[i] == '(') {
      size_t close = fmt.find(')', i);
      if (close == std::string::npos || !mapping) raise("TypeError", "format requires a mapping");
      const Value* x = mapping->find(fmt.substr(i + 1, close - i - 1));
      if (!x) raise("KeyError", string_repr(fmt.substr(i + 1, close - i - 1)));
      v = *x;
      have = true;
      i = close + 1;
    }
    std::string spec;
    while (i < fmt.size() && std::strchr("-+ #0123456789.", fmt[i])) spec += fmt[i++];
    if (i >= fmt.size()) raise("ValueError", "incomplete format");
    char type = fmt[i];
    if (type == '%') {
      out += '%';
      continue;
    }
    if (!have) {
      if (next >= items.size()) raise("TypeError", "not enough arguments for format string");
      v = items[next++];
    }
    char cfmt[64];
    char buf[1200];
    if (spec.size() > 20) raise("ValueError", "format spec too long");
    if (type == 's' || type == 'r') {
      std::string s = type == 's' ? to_str(v) : to_repr(v);
      if (spec.empty()) {
        out += s;
      } else {
        int width = std::atoi(spec.c_str());
        if (width > 100000 || width < -100000) raise("ValueError", "format width too large");
        size_t len = static_cast<size_t>(utf8_length(s));
        size_t w = static_cast<size_t>(std::abs(width));
        if (len < w) s = width < 0 ? s + std::string(w - len, ' ') : std::string(w - len, ' ') + s;
        out += s;
      }
    } else if (type == 'd' || type == 'i') {
      if (!v.is_number()) raise("TypeError", "%d format: a real number is required, not " + v.type_name());
      std::snprintf(cfmt, sizeof(cfmt), "%%%slld", spec.c_str());
      std::snprintf(buf, sizeof(buf), cfmt, static_cast<long long>(v.is_int() ? v.as_int() : std::trunc(v.as_double())));
      out += buf;
    } else if (type == 'f' || type == 'F' || type == 'e' || type == 'g' || type == 'x' || type == 'X') {
      if (!v.is_number()) raise("TypeError", "must be real number, not " + v.type_name());
      if (type == 'x' || type == 'X') {
        std::snprintf(cfmt, sizeof(cfmt), "%%%sll%c", spec.c_str(), type);
        std::snprintf(buf, sizeof(buf), cfmt, static_cast<long long>(v.as_int()));
      } else {
        std::snprintf(cfmt, sizeof(cfmt), "%%%s%c", spec.c_str(), type);
        std::snprintf(buf, sizeof(buf), cfmt, v.as_double());
      }
      out += buf;
    } else {
      raise("ValueError", std::string("unsupported format character '") + type + "'");
    }
    in.check_size(out.size());
  }
  if (!mapping && next < items.size()) raise("TypeError", "not all arguments converted during string formatting");
  return out;
}

}  // namespace pocket::chat
