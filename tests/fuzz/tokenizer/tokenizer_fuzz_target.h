// The tokenizer fuzz body, shared by the libFuzzer target (fuzz_tokenizer.cc, POCKET_FUZZ builds) and the plain
// replay test that CI's normal build runs (fuzz_replay_test.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pocket {

class Tokenizer;

// Tokenizes `data` with parse_special off and on, decodes the ids (whole and streamed), and checks the
// invariants below; a violation aborts (so libFuzzer reports it).
//  - every id is in range;
//  - streaming decode == whole decode;
//  - byte-level BPE, valid UTF-8 input, special tokens rendered: decode(encode(x)) is x (after the vocabulary's
//    space clean-up);
//  - SentencePiece with parse_special off and no user-defined tokens in the text: decode(encode(x)) == x when x is
//    valid UTF-8 (byte fallback makes it lossless).
void fuzz_tokenizer_once(const Tokenizer& tokenizer, const uint8_t* data, size_t size);

// The tokenizer the libFuzzer target uses: $POCKET_FUZZ_VOCAB, else ../shared/vocab/ggml-vocab-gpt-2.gguf.
const Tokenizer& fuzz_default_tokenizer();

}  // namespace pocket
