// Reference quantizers of the 256-element K-quant super-blocks (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K), following ggml's
// importance-matrix-free quantize_row_q*_K_ref (what llama-quantize runs without --imatrix) step by step: the same
// float operations in the same order (built with -ffp-contract=off), so the bytes match ggml's for finite input.
//
// Shape of every quantizer: per super-block of 256 values, fit each sub-block (16 or 32 values) with a scale (and
// for Q2_K/Q4_K/Q5_K a min) by a small search; quantize those sub-block scales/mins to 4, 6 or 8 bits against one
// f16 super-scale; then re-quantize the values against the rounded scales and pack the bits.
// Hostile input (NaN, inf, |x| ~ 1e38) never crashes: nearest_int below is plain integer arithmetic on the float's
// bits (ggml only asserts its range), and every level is clamped before it is packed.
#include <cmath>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/half.h"
#include "tensor/quants.h"

namespace pocket::quants {
namespace {

constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS: a sub-block below this is all zero

// ggml's nearest_int: round half to even by adding 1.5 * 2^23 and reading the mantissa (exact for |v| <= 2^22).
int nearest_int(float v) {
  const float biased = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &biased, sizeof(bits));
  return (bits & 0x007fffff) - 0x00400000;
}

int clamp_int(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Symmetric fit of n values to levels [-nmax, nmax-1] with weights x^2 (ggml make_qx_quants, rmse_type 1, no
// importance weights): tries 19 candidate inverse scales around nmax/max and keeps the best weighted least-squares
// scale. L receives levels + nmax. Returns the scale.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L) {
  float max = 0.0f;
  float amax = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  float iscale = -nmax / max;
  float sumlx = 0.0f;
  float suml2 = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        L[i] = static_cast<int8_t>(nmax + clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Symmetric 3-bit fit (ggml make_q3_quants with do_rmse): start from nmax/max, then up to 5 passes of moving single
// levels while that improves the weighted (x^2) least-squares objective. L receives levels + nmax.
float make_q3_quants(int n, int nmax, const float* x, int8_t* L) {
  float max = 0.0f;
  float amax = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  const float iscale = -nmax / max;
  float sumlx = 0.0f;
  float suml2 = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * L[i];
      if (slx > 0) {
        float sl2 = suml2 - w * L[i] * L[i];
        const int new_l = clamp_int(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (new_l != L[i]) {
          slx += w * x[i] * new_l;
          sl2 += w * new_l * new_l;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (n_changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Asymmetric fit x ~ scale * l - min, l in [0, nmax], min >= 0 (ggml make_qkx2_quants): starting from the min/max
// range, tries nstep+1 inverse scales (rmin + rdelta*is + nmax) / range, each solved for the weighted least-squares
// scale and min, keeping the lowest weighted error (absolute error if use_mad). Returns the scale; *the_min = min.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.0f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0.0f;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(clamp_int(nearest_int(iscale * (x[i] - min)), 0, nmax));
    float diff = scale * L[i] + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += weights[i] * diff;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_int(nearest_int(iscale * (x[i] - min)), 0, nmax);
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (!(D > 0)) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float cur_error = 0.0f;
    for (int i = 0; i < n; ++i) {
      float diff = this_scale * Laux[i] + this_min - x[i];
      diff = use_mad ? std::fabs(diff) : diff * diff;
      cur_error += weights[i] * diff;
    }
    if (cur_error < best_error) {
      for (int i = 0; i < n; ++i) L[i] = Laux[i];
      best_error = cur_error;
      scale = this_scale;
      min = this_min;
    }
  }
  *the_min = -min;
  return scale;
}

// The packed 6-bit scale/min pair j of Q4_K/Q5_K (ggml get_scale_min_k4).
void get_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
  }
}

// 2-bit planes: 4 values 32 apart share a byte (Q2_K qs, Q3_K low bits).
void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQK_K; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                           (L[j + l + 96] << 6));
    }
  }
}

// Scales and mins of 8 sub-blocks of 32 (Q4_K, Q5_K): fitted, then quantized to 6 bits against d and dmin;
// values re-quantized to [0, nmax] against the rounded scales. qkx2 parameters differ between the two types.
void fit_q45_block(const float* x, int nmax, float rmin, float rdelta, int nstep, uint16_t* d_out,
                   uint16_t* dmin_out, uint8_t* scales_out, uint8_t* L) {
  uint8_t Laux[32];
  float weights[32];
  float mins[kQK_K / 32];
  float scales[kQK_K / 32];
  float max_scale = 0.0f;
  float max_min = 0.0f;
  for (int j = 0; j < kQK_K / 32; ++j) {
    float sum_x2 = 0.0f;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, rdelta, nstep,
                                 false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  for (int j = 0; j < kQK_K / 32; ++j) {
    uint8_t ls = static_cast<uint8_t>(nearest_int(inv_scale * scales[j]));
    uint8_t lm = static_cast<uint8_t>(nearest_int(inv_min * mins[j]));
    ls = ls < 63 ? ls : 63;
    lm = lm < 63 ? lm : 63;
    if (j < 4) {
      scales_out[j] = ls;
      scales_out[j + 4] = lm;
    } else {
      scales_out[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
      scales_out[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      scales_out[j - 0] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
  }
  *d_out = float_to_half(max_scale / 63.0f);
  *dmin_out = float_to_half(max_min / 63.0f);
  for (int j = 0; j < kQK_K / 32; ++j) {
    uint8_t sc, m;
    get_scale_min_k4(j, scales_out, &sc, &m);
    const float d = half_to_float(*d_out) * sc;
    if (d == 0.0f) continue;
    const float dm = half_to_float(*dmin_out) * m;
    for (int ii = 0; ii < 32; ++ii) {
      L[32 * j + ii] = static_cast<uint8_t>(clamp_int(nearest_int((x[32 * j + ii] + dm) / d), 0, nmax));
    }
  }
}

// Q2_K: per sub-block of 16 an asymmetric 2-bit fit (absolute-error weighted by |x|), 4-bit scales and mins.
void quant_block_q2_K(const float* x, block_q2_K* y) {
  uint8_t L[kQK_K];
  uint8_t Laux[16];
  float weights[16];
  float mins[kQK_K / 16];
  float scales[kQK_K / 16];
  const float q4scale = 15.0f;
  float max_scale = 0.0f;
  float max_min = 0.0f;
  for (int j = 0; j < kQK_K / 16; ++j) {
    for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
    scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  if (max_scale > 0) {
    const float iscale = q4scale / max_scale;
    for (int j = 0; j < kQK_K / 16; ++j) y->scales[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
    y->d = float_to_half(max_scale / q4scale);
  } else {
    for (int j = 0; j < kQK_K / 16; ++j) y->scales[j] = 0;
    y->d = float_to_half(0.0f);
  }
  if (max_min > 0) {
    const float iscale = q4scale / max_min;
    for (int j = 0; j < kQK_K / 16; ++j) {
      y->scales[j] = static_cast<uint8_t>(y->scales[j] | (nearest_int(iscale * mins[j]) << 4));
    }
    y->dmin = float_to_half(max_min / q4scale);
  } else {
    y->dmin = float_to_half(0.0f);
  }
  for (int j = 0; j < kQK_K / 16; ++j) {
    const float d = half_to_float(y->d) * (y->scales[j] & 0xF);
    if (d == 0.0f) continue;
    const float dm = half_to_float(y->dmin) * (y->scales[j] >> 4);
    for (int ii = 0; ii < 16; ++ii) {
      L[16 * j + ii] = static_cast<uint8_t>(clamp_int(nearest_int((x[16 * j + ii] + dm) / d), 0, 3));
    }
  }
  pack_2bit(L, y->qs);
}

// Q3_K: per sub-block of 16 a symmetric 3-bit fit; 6-bit signed scales (low 4 bits in scales[0..7], high 2 bits
// in scales[8..11]); the third bit of each level goes to hmask.
void quant_block_q3_K(const float* x, block_q3_K* y) {
  int8_t L[kQK_K];
  float scales[kQK_K / 16];
  float max_scale = 0.0f;
  float amax = 0.0f;
  for (int j = 0; j < kQK_K / 16; ++j) {
    scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
    const float scale = std::fabs(scales[j]);
    if (scale > amax) {
      amax = scale;
      max_scale = scales[j];
    }
  }
  std::memset(y->scales, 0, sizeof(y->scales));
  if (max_scale != 0.0f) {
    const float iscale = -32.0f / max_scale;
    for (int j = 0; j < kQK_K / 16; ++j) {
      int8_t l = static_cast<int8_t>(nearest_int(iscale * scales[j]));
      l = static_cast<int8_t>(clamp_int(l, -32, 31) + 32);
      if (j < 8) {
        y->scales[j] = static_cast<uint8_t>(l & 0xF);
      } else {
        y->scales[j - 8] = static_cast<uint8_t>(y->scales[j - 8] | ((l & 0xF) << 4));
      }
      l = static_cast<int8_t>(l >> 4);
      y->scales[j % 4 + 8] = static_cast<uint8_t>(y->scales[j % 4 + 8] | (l << (2 * (j / 4))));
    }
    y->d = float_to_half(1 / iscale);
  } else {
    y->d = float_to_half(0.0f);
  }
  for (int j = 0; j < kQK_K / 16; ++j) {
    int sc = j < 8 ? y->scales[j] & 0xF : y->scales[j - 8] >> 4;
    sc = (sc | (((y->scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
    const float d = half_to_float(y->d) * static_cast<int8_t>(sc);
    if (d == 0.0f) continue;
    for (int ii = 0; ii < 16; ++ii) {
      L[16 * j + ii] = static_cast<int8_t>(clamp_int(nearest_int(x[16 * j + ii] / d), -4, 3) + 4);
    }
  }
  std::memset(y->hmask, 0, sizeof(y->hmask));
  // The high bit of value j goes to hmask[j % 32], bit j / 32.
  int m = 0;
  uint8_t hm = 1;
  for (int j = 0; j < kQK_K; ++j) {
    if (L[j] > 3) {
      y->hmask[m] = static_cast<uint8_t>(y->hmask[m] | hm);
      L[j] = static_cast<int8_t>(L[j] - 4);
    }
    if (++m == kQK_K / 8) {
      m = 0;
      hm = static_cast<uint8_t>(hm << 1);
    }
  }
  pack_2bit(reinterpret_cast<const uint8_t*>(L), y->qs);
}

// Q4_K: 8 sub-blocks of 32, 4-bit levels; low nibbles hold values 0..31 of each 64, high nibbles 32..63.
void quant_block_q4_K(const float* x, block_q4_K* y) {
  uint8_t L[kQK_K];
  fit_q45_block(x, 15, -1.0f, 0.1f, 20, &y->d, &y->dmin, y->scales, L);
  uint8_t* q = y->qs;
  for (int j = 0; j < kQK_K; j += 64) {
    for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
    q += 32;
  }
}

// Q5_K: as Q4_K with 5-bit levels; the fifth bit of value n+j (n a multiple of 64) goes to qh[j % 32].
void quant_block_q5_K(const float* x, block_q5_K* y) {
  uint8_t L[kQK_K];
  fit_q45_block(x, 31, -0.5f, 0.1f, 15, &y->d, &y->dmin, y->scales, L);
  uint8_t* qh = y->qh;
  uint8_t* ql = y->qs;
  std::memset(qh, 0, kQK_K / 8);
  uint8_t m1 = 1, m2 = 2;
  for (int n = 0; n < kQK_K; n += 64) {
    for (int j = 0; j < 32; ++j) {
      int l1 = L[n + j];
      if (l1 > 15) {
        l1 -= 16;
        qh[j] = static_cast<uint8_t>(qh[j] | m1);
      }
      int l2 = L[n + j + 32];
      if (l2 > 15) {
        l2 -= 16;
        qh[j] = static_cast<uint8_t>(qh[j] | m2);
      }
      ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
    }
    m1 = static_cast<uint8_t>(m1 << 2);
    m2 = static_cast<uint8_t>(m2 << 2);
    ql += 32;
  }
}

// Q6_K: per sub-block of 16 a symmetric 6-bit fit; 8-bit signed scales against one f16 super-scale.
void quant_block_q6_K(const float* x, block_q6_K* y) {
  int8_t L[kQK_K];
  float scales[kQK_K / 16];
  float max_scale = 0.0f;
  float max_abs_scale = 0.0f;
  for (int ib = 0; ib < kQK_K / 16; ++ib) {
    const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
    scales[ib] = scale;
    const float abs_scale = std::fabs(scale);
    if (abs_scale > max_abs_scale) {
      max_abs_scale = abs_scale;
      max_scale = scale;
    }
  }
  if (max_abs_scale < kGroupMaxEps) {
    std::memset(y, 0, sizeof(*y));
    y->d = float_to_half(0.0f);
    return;
  }
  const float iscale = -128.0f / max_scale;
  y->d = float_to_half(1 / iscale);
  for (int ib = 0; ib < kQK_K / 16; ++ib) {
    const int v = nearest_int(iscale * scales[ib]);
    y->scales[ib] = static_cast<int8_t>(v < 127 ? v : 127);
  }
  for (int j = 0; j < kQK_K / 16; ++j) {
    const float d = half_to_float(y->d) * y->scales[j];
    if (d == 0.0f) continue;
    for (int ii = 0; ii < 16; ++ii) {
      L[16 * j + ii] = static_cast<int8_t>(clamp_int(nearest_int(x[16 * j + ii] / d), -32, 31) + 32);
    }
  }
  uint8_t* ql = y->ql;
  uint8_t* qh = y->qh;
  for (int j = 0; j < kQK_K; j += 128) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t q1 = L[j + l + 0] & 0xF;
      const uint8_t q2 = L[j + l + 32] & 0xF;
      const uint8_t q3 = L[j + l + 64] & 0xF;
      const uint8_t q4 = L[j + l + 96] & 0xF;
      ql[l + 0] = static_cast<uint8_t>(q1 | (q3 << 4));
      ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
      qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                   ((L[j + l + 96] >> 4) << 6));
    }
    ql += 64;
    qh += 32;
  }
}

}  // namespace

void quant_row_q2_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q2_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i) quant_block_q2_K(src + i * kQK_K, y + i);
}

void quant_row_q3_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q3_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i) quant_block_q3_K(src + i * kQK_K, y + i);
}

void quant_row_q4_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q4_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i) quant_block_q4_K(src + i * kQK_K, y + i);
}

void quant_row_q5_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q5_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i) quant_block_q5_K(src + i * kQK_K, y + i);
}

void quant_row_q6_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q6_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i) quant_block_q6_K(src + i * kQK_K, y + i);
}

}  // namespace pocket::quants
