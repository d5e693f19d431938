#include "base/utf8.h"

namespace pocket {

size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xC2) return 0;  // continuation byte or overlong 2-byte lead
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  if (lead < 0xF5) return 4;
  return 0;
}

bool is_valid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    size_t len = utf8_sequence_length(c);
    if (len == 0 || i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
    }
    if (len == 3) {
      if (c == 0xE0 && s[i + 1] < 0xA0) return false;   // overlong
      if (c == 0xED && s[i + 1] >= 0xA0) return false;  // UTF-16 surrogates
    } else if (len == 4) {
      if (c == 0xF0 && s[i + 1] < 0x90) return false;   // overlong
      if (c == 0xF4 && s[i + 1] >= 0x90) return false;  // above U+10FFFF
    }
    i += len;
  }
  return true;
}

size_t utf8_complete_prefix(std::string_view text) {
  size_t n = text.size();
  // Walk back over at most 3 continuation bytes to the last lead byte and see if its sequence is complete.
  size_t back = 0;
  while (back < n && back < 4) {
    unsigned char c = static_cast<unsigned char>(text[n - 1 - back]);
    if ((c & 0xC0) != 0x80) {
      size_t len = utf8_sequence_length(c);
      if (len == 0) return n;  // invalid lead: nothing to wait for
      return (len > back + 1) ? n - 1 - back : n;
    }
    ++back;
  }
  return n;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace pocket
