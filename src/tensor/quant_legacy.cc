// Reference quantizers of the 32-element legacy blocks, byte-identical to ggml's quantize_row_q*_ref.
// ggml converts floats to small ints with C casts ((int8_t)(x + 8.5f), roundf then int8_t); for in-range values
// that is truncation toward zero, which trunc_to_int reproduces; NaN or out-of-range inputs (undefined behaviour in
// C) get what x86's cvttss2si gives ggml there (INT32_MIN, then narrowed), so hostile weights cannot crash us.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/half.h"
#include "tensor/quants.h"

namespace pocket::quants {
namespace {

int32_t trunc_to_int(float v) {
  if (!(v > -2147483648.0f && v < 2147483648.0f)) return INT32_MIN;
  return static_cast<int32_t>(v);
}
// (int8_t)(v) and (uint8_t)(v) as ggml writes them: truncate, then keep the low 8 bits.
int8_t to_i8(float v) { return static_cast<int8_t>(static_cast<uint8_t>(trunc_to_int(v) & 0xff)); }
uint8_t to_u8(float v) { return static_cast<uint8_t>(trunc_to_int(v) & 0xff); }

// The value of largest magnitude in a block (the first one on ties), as ggml's amax/max loop finds it.
float signed_absmax(const float* x, int n) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void min_max(const float* x, int n, float* min_out, float* max_out) {
  float min = FLT_MAX;
  float max = -FLT_MAX;
  for (int j = 0; j < n; ++j) {
    if (x[j] < min) min = x[j];
    if (x[j] > max) max = x[j];
  }
  *min_out = min;
  *max_out = max;
}

}  // namespace

void quant_row_q4_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q4_0*>(dst);
  const int64_t nb = n / kQK4_0;
  for (int64_t i = 0; i < nb; ++i) {
    const float* x = src + i * kQK4_0;
    const float d = signed_absmax(x, kQK4_0) / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = float_to_half(d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      const float x0 = x[j] * id;
      const float x1 = x[j + kQK4_0 / 2] * id;
      const int xi0 = std::min<int>(15, to_i8(x0 + 8.5f));
      const int xi1 = std::min<int>(15, to_i8(x1 + 8.5f));
      y[i].qs[j] = static_cast<uint8_t>(static_cast<uint8_t>(xi0) | (static_cast<uint8_t>(xi1) << 4));
    }
  }
}

void quant_row_q4_1(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q4_1*>(dst);
  const int64_t nb = n / kQK4_1;
  for (int64_t i = 0; i < nb; ++i) {
    const float* x = src + i * kQK4_1;
    float min, max;
    min_max(x, kQK4_1, &min, &max);
    const float d = (max - min) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = float_to_half(d);
    y[i].m = float_to_half(min);
    for (int j = 0; j < kQK4_1 / 2; ++j) {
      const float x0 = (x[j] - min) * id;
      const float x1 = (x[j + kQK4_1 / 2] - min) * id;
      const int xi0 = std::min<int>(15, to_i8(x0 + 0.5f));
      const int xi1 = std::min<int>(15, to_i8(x1 + 0.5f));
      y[i].qs[j] = static_cast<uint8_t>(static_cast<uint8_t>(xi0) | (static_cast<uint8_t>(xi1) << 4));
    }
  }
}

void quant_row_q5_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q5_0*>(dst);
  const int64_t nb = n / kQK5_0;
  for (int64_t i = 0; i < nb; ++i) {
    const float* x = src + i * kQK5_0;
    const float d = signed_absmax(x, kQK5_0) / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = float_to_half(d);
    uint32_t qh = 0;
    for (int j = 0; j < kQK5_0 / 2; ++j) {
      const float x0 = x[j] * id;
      const float x1 = x[j + kQK5_0 / 2] * id;
      const uint8_t xi0 = static_cast<uint8_t>(std::min<int>(31, to_i8(x0 + 16.5f)));
      const uint8_t xi1 = static_cast<uint8_t>(std::min<int>(31, to_i8(x1 + 16.5f)));
      y[i].qs[j] = static_cast<uint8_t>((xi0 & 0x0f) | ((xi1 & 0x0f) << 4));
      qh |= ((xi0 & 0x10u) >> 4) << j;
      qh |= ((xi1 & 0x10u) >> 4) << (j + kQK5_0 / 2);
    }
    std::memcpy(y[i].qh, &qh, sizeof(qh));
  }
}

void quant_row_q5_1(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q5_1*>(dst);
  const int64_t nb = n / kQK5_1;
  for (int64_t i = 0; i < nb; ++i) {
    const float* x = src + i * kQK5_1;
    float min, max;
    min_max(x, kQK5_1, &min, &max);
    const float d = (max - min) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = float_to_half(d);
    y[i].m = float_to_half(min);
    uint32_t qh = 0;
    for (int j = 0; j < kQK5_1 / 2; ++j) {
      const float x0 = (x[j] - min) * id;
      const float x1 = (x[j + kQK5_1 / 2] - min) * id;
      const uint8_t xi0 = to_u8(x0 + 0.5f);
      const uint8_t xi1 = to_u8(x1 + 0.5f);
      y[i].qs[j] = static_cast<uint8_t>((xi0 & 0x0f) | ((xi1 & 0x0f) << 4));
      qh |= ((xi0 & 0x10u) >> 4) << j;
      qh |= ((xi1 & 0x10u) >> 4) << (j + kQK5_1 / 2);
    }
    std::memcpy(y[i].qh, &qh, sizeof(qh));
  }
}

void quant_row_q8_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q8_0*>(dst);
  const int64_t nb = n / kQK8_0;
  for (int64_t i = 0; i < nb; ++i) {
    const float* x = src + i * kQK8_0;
    float amax = 0.0f;
    for (int j = 0; j < kQK8_0; ++j) {
      const float a = std::fabs(x[j]);
      amax = amax > a ? amax : a;  // ggml's MAX(amax, fabsf(v)), NaN behaviour included
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = float_to_half(d);
    for (int j = 0; j < kQK8_0; ++j) y[i].qs[j] = to_i8(std::round(x[j] * id));
  }
}

}  // namespace pocket::quants
