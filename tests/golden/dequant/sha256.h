// A small self-contained SHA-256 (FIPS 180-4) for comparing dequantized tensors with the reference hashes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace pocket::testing {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  std::array<uint8_t, 32> finish();  // the object must not be updated afterwards

 private:
  void compress(const uint8_t* block);  // one 64-byte block
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// Lowercase hex digest of `size` bytes.
std::string sha256_hex(const void* data, size_t size);

}  // namespace pocket::testing
