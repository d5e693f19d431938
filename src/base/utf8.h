// UTF-8 helpers shared by the GGUF reader, the tokenizer and the chat templates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pocket {

// True if `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text);

// Length of the UTF-8 sequence that starts with `lead` (1..4), or 0 for a continuation/invalid byte.
size_t utf8_sequence_length(unsigned char lead);

// Appends the UTF-8 encoding of code point `cp` (<= 0x10FFFF) to `out`.
void append_utf8(std::string& out, uint32_t cp);

// Length of the longest prefix of `text` made of complete UTF-8 sequences (an incomplete tail is left out).
size_t utf8_complete_prefix(std::string_view text);

}  // namespace pocket
