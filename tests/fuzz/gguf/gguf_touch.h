// Reads everything a parsed GGUF file hands out, so that a sanitizer sees any bad span or dangling pointer:
// every metadata value, every byte of every tensor and, where the type has a dequantizer, its first block.
#pragma once

#include <cstdint>
#include <vector>

#include "format/gguf.h"

namespace pocket::fuzzing {

// Returns a checksum (so the reads cannot be optimized away). Aborts if the file breaks an invariant the reader
// promises (a tensor outside the file), which libFuzzer and the mutation test report as a crash.
inline uint64_t touch_gguf(const GgufFile& file) {
  uint64_t sum = file.version() + file.alignment() + file.data_offset();
  for (const auto& kv : file.metadata()) {
    const GgufValue& v = kv.value;
    sum += kv.key.size() + static_cast<uint64_t>(v.type) + v.u + static_cast<uint64_t>(v.i) + v.b + v.s.size();
    sum += static_cast<uint64_t>(v.f == v.f) + v.array_length() + v.is_integer();
    for (const auto& s : v.strs) sum += s.size() + (s.empty() ? 0 : static_cast<uint8_t>(s.back()));
    for (int64_t i : v.ints) sum += static_cast<uint64_t>(i);
    for (double f : v.floats) sum += f > 0;
    if (auto i = v.as_int()) sum += static_cast<uint64_t>(*i);
    if (file.find(kv.key) == nullptr) __builtin_trap();
  }
  std::vector<float> block;
  for (const auto& t : file.tensors()) {
    if (t.dtype == nullptr || t.shape.empty() || t.shape.size() > 4) __builtin_trap();
    auto bytes = file.tensor_bytes(t);
    uint64_t size = file.file_size();
    bool inside = file.data_offset() <= size && t.offset <= size - file.data_offset() &&
                  t.n_bytes <= size - file.data_offset() - t.offset;
    if (!inside || bytes.size() != t.n_bytes) __builtin_trap();
    for (uint8_t b : bytes) sum += b;
    sum += static_cast<uint64_t>(t.rows());
    if (file.find_tensor(t.name) != &t) __builtin_trap();
    const DTypeInfo& info = *t.dtype;
    if (info.dequant != nullptr && bytes.size() >= static_cast<uint64_t>(info.block_bytes)) {
      block.resize(static_cast<size_t>(info.block_elems));
      info.dequant(bytes.data(), block.data(), info.block_elems);
      for (float f : block) sum += f == f;
    }
  }
  return sum;
}

}  // namespace pocket::fuzzing
