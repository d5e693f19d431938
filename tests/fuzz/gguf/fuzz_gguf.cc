// libFuzzer target for the GGUF reader (built with -DPOCKET_FUZZ=ON and clang):
//   gguf_corpus_writer corpus/ && fuzz_gguf -max_total_time=60 corpus/
#include <cstddef>
#include <cstdint>
#include <span>

#include "format/gguf.h"
#include "gguf_touch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = pocket::GgufFile::from_bytes(std::span<const uint8_t>(data, size), "fuzz.gguf");
  if (file.ok()) {
    volatile uint64_t sink = pocket::fuzzing::touch_gguf(*file);
    (void)sink;
  } else if (file.status().kind() != pocket::ErrorKind::kBadInput || file.status().message().empty()) {
    __builtin_trap();  // errors from bytes are always bad input, with a message
  }
  return 0;
}
