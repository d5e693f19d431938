// Quantizers of the non-linear 4-bit types IQ4_NL (blocks of 32, one f16 scale) and IQ4_XS (super-blocks of 256:
// f16 super-scale, 6-bit sub-block scales), following ggml's quantize_iq4_nl / quantize_iq4_xs without an
// importance matrix (what llama-quantize runs): levels are the 16 values kIQ4NLValues times a scale; each block's
// scale is the best weighted (x^2) least-squares fit over 15 candidate inverse scales around -127/max.
// Same float operations in the same order as ggml, so the bytes match for finite input; NaN/inf never crash.
#include <cmath>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/half.h"
#include "tensor/quants.h"

namespace pocket::quants {
namespace {

constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS
constexpr int kNTry = 7;                // candidate inverse scales: (-127 + itry) / max, itry in [-7, 7]
constexpr int kIQ4Levels = 16;

int nearest_int(float v) {  // ggml's round-half-to-even trick (see quant_kquants.cc)
  const float biased = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &biased, sizeof(bits));
  return (bits & 0x007fffff) - 0x00400000;
}

// Index of the level nearest to v (the upper one on a tie): a branch-free binary search on midpoints, computed as
// 2v >= lo + hi so that both sides are exact. NaN picks level 0.
int best_index_iq4(float v) {
  const float v2 = v + v;
  int idx = 0;
  for (int step = kIQ4Levels >> 1; step > 0; step >>= 1) {
    const int j = idx + step;
    idx = (v2 >= static_cast<float>(kIQ4NLValues[j - 1] + kIQ4NLValues[j])) ? j : idx;
  }
  return idx;
}

// Best scale for one block of 32 values; L receives the level indices for that scale. Returns 0 for an all-zero
// block.
float fit_iq4_block(const float* xb, uint8_t* Lb) {
  float weight[32];
  for (int j = 0; j < 32; ++j) weight[j] = xb[j] * xb[j];
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 32; ++j) {
    const float ax = std::fabs(xb[j]);
    if (ax > amax) {
      amax = ax;
      max = xb[j];
    }
  }
  if (amax < kGroupMaxEps) {
    std::memset(Lb, 0, 32);
    return 0.0f;
  }
  float d = -max / kIQ4NLValues[0];
  float id = 1 / d;
  float sumqx = 0.0f, sumq2 = 0.0f;
  for (int j = 0; j < 32; ++j) {
    const int l = best_index_iq4(id * xb[j]);
    Lb[j] = static_cast<uint8_t>(l);
    const float q = kIQ4NLValues[l];
    const float w = weight[j];
    sumqx += w * q * xb[j];
    sumq2 += w * q * q;
  }
  d = sumq2 > 0 ? sumqx / sumq2 : 0.0f;
  float best = d * sumqx;
  for (int itry = -kNTry; itry <= kNTry; ++itry) {
    id = (itry + kIQ4NLValues[0]) / max;
    sumqx = sumq2 = 0.0f;
    for (int j = 0; j < 32; ++j) {
      const int l = best_index_iq4(id * xb[j]);
      const float q = kIQ4NLValues[l];
      const float w = weight[j];
      sumqx += w * q * xb[j];
      sumq2 += w * q * q;
    }
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

// 32 level indices -> 16 bytes: value j in the low nibble of byte j, value j+16 in the high nibble.
void pack_iq4(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(L[j] | (L[16 + j] << 4));
}

void quant_block_iq4_nl(const float* x, block_iq4_nl* y) {
  uint8_t L[kQK4_NL];
  std::memset(y->qs, 0, sizeof(y->qs));
  const float scale = fit_iq4_block(x, L);
  y->d = float_to_half(scale);
  // Re-pick the levels for the final (unrounded) scale, as ggml does.
  const float id = scale != 0.0f ? 1 / scale : 0.0f;
  for (int j = 0; j < kQK4_NL; ++j) L[j] = static_cast<uint8_t>(best_index_iq4(id * x[j]));
  pack_iq4(L, y->qs);
}

void quant_block_iq4_xs(const float* x, block_iq4_xs* y) {
  constexpr int kBlocks = kQK_K / 32;
  uint8_t L[kQK_K];
  float scales[kBlocks];
  std::memset(y->qs, 0, sizeof(y->qs));
  float max_scale = 0.0f, amax_scale = 0.0f;
  for (int ib = 0; ib < kBlocks; ++ib) {
    scales[ib] = fit_iq4_block(x + 32 * ib, L + 32 * ib);
    const float abs_d = std::fabs(scales[ib]);
    if (abs_d > amax_scale) {
      amax_scale = abs_d;
      max_scale = scales[ib];
    }
  }
  y->scales_h = 0;
  const float d = -max_scale / 32;
  y->d = float_to_half(d);
  const float id = d != 0.0f ? 1 / d : 0.0f;
  for (int ib = 0; ib < kBlocks; ++ib) {
    int l = nearest_int(id * scales[ib]);
    l = l < -32 ? -32 : (l > 31 ? 31 : l);
    const float dl = d * l;
    const float idl = dl != 0.0f ? 1 / dl : 0.0f;
    for (int j = 0; j < 32; ++j) L[32 * ib + j] = static_cast<uint8_t>(best_index_iq4(idl * x[32 * ib + j]));
    l += 32;
    const uint8_t l_l = static_cast<uint8_t>(l & 0xf);
    const uint8_t l_h = static_cast<uint8_t>(l >> 4);
    if (ib % 2 == 0) {
      y->scales_l[ib / 2] = l_l;
    } else {
      y->scales_l[ib / 2] = static_cast<uint8_t>(y->scales_l[ib / 2] | (l_l << 4));
    }
    y->scales_h = static_cast<uint16_t>(y->scales_h | (l_h << 2 * (ib % 8)));
  }
  for (int i = 0; i < kBlocks; ++i) pack_iq4(L + 32 * i, y->qs + 16 * i);
}

}  // namespace

void quant_row_iq4_nl(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_iq4_nl*>(dst);
  for (int64_t i = 0; i < n / kQK4_NL; ++i) quant_block_iq4_nl(src + i * kQK4_NL, y + i);
}

void quant_row_iq4_xs(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_iq4_xs*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i) quant_block_iq4_xs(src + i * kQK_K, y + i);
}

}  // namespace pocket::quants
