// Plain float types: F32 (a copy), F16 and BF16 (bit conversions, see half.h).
#include <cstring>

#include "tensor/half.h"
#include "tensor/quants.h"

namespace pocket::quants {

void dequant_row_f32(const void* src, float* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void dequant_row_f16(const void* src, float* dst, int64_t n) {
  const auto* bytes = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, bytes + 2 * i, 2);  // memcpy: the source may be at any address
    dst[i] = half_to_float(h);
  }
}

void dequant_row_bf16(const void* src, float* dst, int64_t n) {
  const auto* bytes = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, bytes + 2 * i, 2);
    dst[i] = bf16_bits_to_float(h);
  }
}

void quant_row_f32(const float* src, void* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void quant_row_f16(const float* src, void* dst, int64_t n) {
  auto* bytes = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = float_to_half(src[i]);
    std::memcpy(bytes + 2 * i, &h, 2);
  }
}

void quant_row_bf16(const float* src, void* dst, int64_t n) {
  auto* bytes = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = float_to_bf16_bits(src[i]);
    std::memcpy(bytes + 2 * i, &h, 2);
  }
}

}  // namespace pocket::quants
