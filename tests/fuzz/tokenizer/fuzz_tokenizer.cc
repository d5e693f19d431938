// libFuzzer target: arbitrary bytes through the tokenizer (encode with parse_special off and on, decode, stream).
// Built only with -DPOCKET_FUZZ=ON (clang, -fsanitize=fuzzer,address,undefined). The vocabulary is
// $POCKET_FUZZ_VOCAB or ../shared/vocab/ggml-vocab-gpt-2.gguf.
#include <cstddef>
#include <cstdint>

#include "tokenizer_fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pocket::fuzz_tokenizer_once(pocket::fuzz_default_tokenizer(), data, size);
  return 0;
}
