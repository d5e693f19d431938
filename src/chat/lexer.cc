#include "chat/lexer.h"

#include <cctype>
#include <cstring>
#include <optional>

#include "base/utf8.h"

namespace pocket::chat {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Python str.rstrip() for ASCII whitespace (templates only ever put ASCII whitespace around tags).
std::string_view rstrip_ws(std::string_view s) {
  size_t n = s.size();
  while (n > 0 && is_space(s[n - 1])) --n;
  return s.substr(0, n);
}

// The template text with newlines normalized to \n and one trailing newline removed (keep_trailing_newline=False).
std::string normalize_source(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Python's "unicode-escape" decoding of a string literal's body. Unknown escapes keep their backslash; a bad
// \x / \u / \U escape is an error (nullopt), as in Python.
std::optional<std::string> unescape(std::string_view body) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      out += c;
      continue;
    }
    char e = body[++i];
    switch (e) {
      case '\n': break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x': case 'u': case 'U': {
        size_t digits = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
        uint32_t cp = 0;
        bool ok = i + digits < body.size();
        for (size_t k = 1; ok && k <= digits; ++k) {
          int h = hex_value(body[i + k]);
          if (h < 0) ok = false;
          else cp = cp * 16 + static_cast<uint32_t>(h);
        }
        if (!ok || cp > 0x10FFFF) {
          return std::nullopt;
        } else {
          append_utf8(out, cp);
          i += digits;
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          uint32_t cp = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k) {
            cp = cp * 8 + static_cast<uint32_t>(body[++i] - '0');
          }
          append_utf8(out, cp);
        } else {
          out += '\\';
          out += e;
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string src) : src_(std::move(src)) {}

  Result<std::vector<Token>> run() {
    bool line_starting = true;
    while (pos_ < src_.size()) {
      size_t q = find_tag_start(pos_);
      std::string_view text(src_.data() + pos_, q - pos_);
      if (q == src_.size()) {
        emit_text(text);
        pos_ = q;
        break;
      }
      char kind = src_[q + 1];  // '{', '%' or '#'
      char sign = q + 2 < src_.size() ? src_[q + 2] : '\0';
      bool block_like = kind != '{';
      if (sign == '-') {
        text = rstrip_ws(text);
      } else if (sign != '+' && block_like) {
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string_view::npos ? 0 : l_pos + 1;
        if (l_pos > 0 || line_starting) {
          bool all_ws = l_pos < text.size();
          for (size_t k = l_pos; k < text.size(); ++k) all_ws = all_ws && is_space(text[k]);
          if (all_ws) text = text.substr(0, l_pos);
        }
      }
      emit_text(text);
      count_lines(pos_, q);
      pos_ = q + 2 + ((sign == '-' || (sign == '+' && block_like)) ? 1 : 0);
      Status st;
      if (kind == '#') {
        st = lex_comment();
      } else if (kind == '%' && is_raw_begin()) {
        st = lex_raw();
      } else {
        st = lex_tag(kind == '%');
      }
      POCKET_RETURN_IF_ERROR(st);
      line_starting = last_end_consumed_newline_;
    }
    tokens_.push_back({TokenType::kEof, "", line_});
    return std::move(tokens_);
  }

 private:
  size_t find_tag_start(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return src_.size();
  }

  void emit_text(std::string_view text) {
    if (!text.empty()) tokens_.push_back({TokenType::kText, std::string(text), line_});
  }

  void count_lines(size_t from, size_t to) {
    for (size_t i = from; i < to && i < src_.size(); ++i) line_ += src_[i] == '\n';
  }

  // After a closing delimiter at [end, end+len): `-` strips all following whitespace; trim_blocks (block-like tags,
  // unless `+`) removes one newline.
  void finish_tag(size_t close_end, char sign, bool block_like) {
    size_t p = close_end;
    last_end_consumed_newline_ = false;
    if (sign == '-') {
      while (p < src_.size() && is_space(src_[p])) ++p;
      last_end_consumed_newline_ = p > close_end && src_[p - 1] == '\n';
    } else if (sign != '+' && block_like && p < src_.size() && src_[p] == '\n') {
      ++p;
      last_end_consumed_newline_ = true;
    }
    count_lines(pos_, p);
    pos_ = p;
  }

  Status lex_comment() {
    size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) return failure("template line {}: unterminated comment (missing '#}}')", line_);
    char sign = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : '\0';
    finish_tag(end + 2, sign, true);
    return ok_status();
  }

  // `{% raw %}` or `{% raw -%}` (pos_ is just after `{%` and its sign). As in Jinja, `raw +%}` is not a raw tag
  // (it then fails as an unknown tag), and `raw %}` does not trim the following newline.
  bool is_raw_begin() const {
    size_t p = pos_;
    while (p < src_.size() && is_space(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0) return false;
    p += 3;
    while (p < src_.size() && is_space(src_[p])) ++p;
    if (p < src_.size() && src_[p] == '-') ++p;
    return src_.compare(p, 2, "%}") == 0;
  }

  Status lex_raw() {
    size_t p = src_.find("%}", pos_);
    if (src_[p - 1] == '-') {
      finish_tag(p + 2, '-', true);
    } else {
      count_lines(pos_, p + 2);
      pos_ = p + 2;
      last_end_consumed_newline_ = false;
    }
    // Find `{%[-+]? *endraw *[-+]?%}`.
    size_t search = pos_;
    while (true) {
      size_t q = src_.find("{%", search);
      if (q == std::string::npos) return failure("template line {}: missing '{{% endraw %}}'", line_);
      size_t r = q + 2;
      char open_sign = (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) ? src_[r++] : '\0';
      while (r < src_.size() && is_space(src_[r])) ++r;
      if (src_.compare(r, 6, "endraw") != 0) {
        search = q + 2;
        continue;
      }
      r += 6;
      while (r < src_.size() && is_space(src_[r])) ++r;
      char close_sign = (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) ? src_[r++] : '\0';
      if (src_.compare(r, 2, "%}") != 0) {
        search = q + 2;
        continue;
      }
      std::string_view body(src_.data() + pos_, q - pos_);
      if (open_sign == '-') {
        body = rstrip_ws(body);
      } else if (open_sign != '+') {
        size_t l_pos = body.rfind('\n');
        l_pos = l_pos == std::string_view::npos ? 0 : l_pos + 1;
        if (l_pos > 0 || last_end_consumed_newline_) {
          bool all_ws = l_pos < body.size();
          for (size_t k = l_pos; k < body.size(); ++k) all_ws = all_ws && is_space(body[k]);
          if (all_ws) body = body.substr(0, l_pos);
        }
      }
      emit_text(body);
      count_lines(pos_, q);
      pos_ = q;
      finish_tag(r + 2, close_sign, true);
      return ok_status();
    }
  }

  Status lex_tag(bool block) {
    tokens_.push_back({block ? TokenType::kBlockBegin : TokenType::kVarBegin, "", line_});
    int depth = 0;
    while (true) {
      while (pos_ < src_.size() && is_space(src_[pos_])) {
        line_ += src_[pos_] == '\n';
        ++pos_;
      }
      if (pos_ >= src_.size()) {
        return failure("template line {}: unexpected end of template, expected '{}'", line_, block ? "%}" : "}}");
      }
      if (depth == 0) {
        const char* close = block ? "%}" : "}}";
        char sign = src_[pos_];
        if ((sign == '-' || (sign == '+' && block)) && src_.compare(pos_ + 1, 2, close) == 0) {
          tokens_.push_back({block ? TokenType::kBlockEnd : TokenType::kVarEnd, "", line_});
          finish_tag(pos_ + 3, sign, block);
          return ok_status();
        }
        if (src_.compare(pos_, 2, close) == 0) {
          tokens_.push_back({block ? TokenType::kBlockEnd : TokenType::kVarEnd, "", line_});
          finish_tag(pos_ + 2, '\0', block);
          return ok_status();
        }
      }
      POCKET_RETURN_IF_ERROR(lex_one(depth));
    }
  }

  Status lex_one(int& depth) {
    char c = src_[pos_];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t s = pos_;
      while (pos_ < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) ++pos_;
      tokens_.push_back({TokenType::kName, src_.substr(s, pos_ - s), line_});
      return ok_status();
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return lex_number();
    if (c == '\'' || c == '"') return lex_string(c);
    static const char* kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char* op : kTwo) {
      if (src_.compare(pos_, 2, op) == 0) {
        tokens_.push_back({TokenType::kOperator, op, line_});
        pos_ += 2;
        return ok_status();
      }
    }
    if (std::strchr("+-*/%~<>=.,:|()[]{}", c) && c != '\0') {
      if (c == '(' || c == '[' || c == '{') ++depth;
      if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
      tokens_.push_back({TokenType::kOperator, std::string(1, c), line_});
      ++pos_;
      return ok_status();
    }
    return failure("template line {}: unexpected character '{}' in tag", line_, c);
  }

  Status lex_number() {
    size_t s = pos_;
    auto digits = [&] {
      while (pos_ < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) ++pos_;
    };
    digits();
    bool is_float = false;
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))) {
      is_float = true;
      ++pos_;
      digits();
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t save = pos_++;
      if (pos_ < src_.size() && (src_[pos_] == '+' || src_[pos_] == '-')) ++pos_;
      if (pos_ < src_.size() && std::isdigit(static_cast<unsigned char>(src_[pos_]))) {
        is_float = true;
        digits();
      } else {
        pos_ = save;
      }
    }
    std::string text;
    for (size_t i = s; i < pos_; ++i) {
      if (src_[i] != '_') text += src_[i];
    }
    tokens_.push_back({is_float ? TokenType::kFloat : TokenType::kInt, text, line_});
    return ok_status();
  }

  Status lex_string(char quote) {
    int start_line = line_;
    size_t p = pos_ + 1;
    while (p < src_.size() && src_[p] != quote) {
      if (src_[p] == '\\') ++p;
      ++p;
    }
    if (p >= src_.size()) return failure("template line {}: unterminated string literal", start_line);
    std::string_view body(src_.data() + pos_ + 1, p - pos_ - 1);
    auto value = unescape(body);
    if (!value) return failure("template line {}: malformed \\x, \\u or \\U escape in a string literal", start_line);
    tokens_.push_back({TokenType::kString, std::move(*value), start_line});
    count_lines(pos_, p + 1);
    pos_ = p + 1;
    return ok_status();
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  bool last_end_consumed_newline_ = false;
  std::vector<Token> tokens_;
};

}  // namespace

Result<std::vector<Token>> tokenize(std::string_view source) { return Lexer(normalize_source(source)).run(); }

}  // namespace pocket::chat
