// Dequantizers of the non-linear 4-bit types, following ggml's dequantize_row_iq4_nl / iq4_xs: each nibble picks
// one of 16 fixed levels (kIQ4NLValues), scaled by the block scale (IQ4_NL) or by d * (6-bit sub-scale - 32).
#include "tensor/blocks.h"
#include "tensor/half.h"
#include "tensor/quants.h"

namespace pocket::quants {

void dequant_row_iq4_nl(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_iq4_nl*>(src);
  const int64_t nb = n / kQK4_NL;
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* qs = x[i].qs;
    const float d = half_to_float(x[i].d);
    float* y = dst + i * kQK4_NL;
    for (int j = 0; j < kQK4_NL / 2; ++j) {
      y[j] = d * static_cast<float>(kIQ4NLValues[qs[j] & 0xf]);
      y[j + kQK4_NL / 2] = d * static_cast<float>(kIQ4NLValues[qs[j] >> 4]);
    }
  }
}

void dequant_row_iq4_xs(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_iq4_xs*>(src);
  const int64_t nb = n / kQK_K;
  float* y = dst;
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* qs = x[i].qs;
    const float d = half_to_float(x[i].d);
    const uint16_t scales_h = x[i].scales_h;
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      const int ls = ((x[i].scales_l[ib / 2] >> 4 * (ib % 2)) & 0xf) | (((scales_h >> 2 * ib) & 3) << 4);
      const float dl = d * static_cast<float>(ls - 32);
      for (int j = 0; j < 16; ++j) {
        y[j + 0] = dl * static_cast<float>(kIQ4NLValues[qs[j] & 0xf]);
        y[j + 16] = dl * static_cast<float>(kIQ4NLValues[qs[j] >> 4]);
      }
      y += 32;
      qs += 16;
    }
  }
}

}  // namespace pocket::quants
