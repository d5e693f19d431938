// Dequantizers of the 32-element legacy blocks, following ggml's dequantize_row_q{4_0,4_1,5_0,5_1,8_0}:
// the integer level is formed first, then converted and combined as ggml does (x*d, or x*d + m).
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/half.h"
#include "tensor/quants.h"

namespace pocket::quants {

void dequant_row_q4_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q4_0*>(src);
  const int64_t nb = n / kQK4_0;
  for (int64_t i = 0; i < nb; ++i) {
    const float d = half_to_float(x[i].d);
    float* y = dst + i * kQK4_0;
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      const int x0 = (x[i].qs[j] & 0x0f) - 8;
      const int x1 = (x[i].qs[j] >> 4) - 8;
      y[j] = static_cast<float>(x0) * d;
      y[j + kQK4_0 / 2] = static_cast<float>(x1) * d;
    }
  }
}

void dequant_row_q4_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q4_1*>(src);
  const int64_t nb = n / kQK4_1;
  for (int64_t i = 0; i < nb; ++i) {
    const float d = half_to_float(x[i].d);
    const float m = half_to_float(x[i].m);
    float* y = dst + i * kQK4_1;
    for (int j = 0; j < kQK4_1 / 2; ++j) {
      const int x0 = x[i].qs[j] & 0x0f;
      const int x1 = x[i].qs[j] >> 4;
      y[j] = static_cast<float>(x0) * d + m;
      y[j + kQK4_1 / 2] = static_cast<float>(x1) * d + m;
    }
  }
}

void dequant_row_q5_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q5_0*>(src);
  const int64_t nb = n / kQK5_0;
  for (int64_t i = 0; i < nb; ++i) {
    const float d = half_to_float(x[i].d);
    uint32_t qh;
    std::memcpy(&qh, x[i].qh, sizeof(qh));  // little-endian: bit j is the 5th bit of element j
    float* y = dst + i * kQK5_0;
    for (int j = 0; j < kQK5_0 / 2; ++j) {
      const uint32_t xh0 = ((qh >> j) << 4) & 0x10u;
      const uint32_t xh1 = (qh >> (j + 12)) & 0x10u;
      const int x0 = static_cast<int>((x[i].qs[j] & 0x0fu) | xh0) - 16;
      const int x1 = static_cast<int>((x[i].qs[j] >> 4) | xh1) - 16;
      y[j] = static_cast<float>(x0) * d;
      y[j + kQK5_0 / 2] = static_cast<float>(x1) * d;
    }
  }
}

void dequant_row_q5_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q5_1*>(src);
  const int64_t nb = n / kQK5_1;
  for (int64_t i = 0; i < nb; ++i) {
    const float d = half_to_float(x[i].d);
    const float m = half_to_float(x[i].m);
    uint32_t qh;
    std::memcpy(&qh, x[i].qh, sizeof(qh));
    float* y = dst + i * kQK5_1;
    for (int j = 0; j < kQK5_1 / 2; ++j) {
      const uint32_t xh0 = ((qh >> j) << 4) & 0x10u;
      const uint32_t xh1 = (qh >> (j + 12)) & 0x10u;
      const int x0 = static_cast<int>((x[i].qs[j] & 0x0fu) | xh0);
      const int x1 = static_cast<int>((x[i].qs[j] >> 4) | xh1);
      y[j] = static_cast<float>(x0) * d + m;
      y[j + kQK5_1 / 2] = static_cast<float>(x1) * d + m;
    }
  }
}

void dequant_row_q8_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q8_0*>(src);
  const int64_t nb = n / kQK8_0;
  for (int64_t i = 0; i < nb; ++i) {
    const float d = half_to_float(x[i].d);
    float* y = dst + i * kQK8_0;
    for (int j = 0; j < kQK8_0; ++j) y[j] = static_cast<float>(x[i].qs[j]) * d;
  }
}

}  // namespace pocket::quants
