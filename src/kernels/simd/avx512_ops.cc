// AVX-512 f32 helpers of the fast attention path (ops.h: dot_f32_fast, axpy_f32, softmax_fast, dot_rows_f32,
// weighted_rows_f32, their multi-row variants, and the f16-cache variants dot_rows_f16 / weighted_rows_f16).
#include <immintrin.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "tensor/half.h"

namespace pocket::kernels::simd {

float avx512_dot(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16) acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

void avx512_axpy(float alpha, const float* x, float* y, int64_t n) {
  const __m512 va = _mm512_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

namespace {

// e^x for x <= 0 (Cephes expf polynomial, ~1 ulp); x < -87.3 (and -inf) give 0.
inline __m512 exp_nonpos(__m512 x) {
  const __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3365f), _CMP_LT_OQ);
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.3365f));
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500E-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_maskz_mov_ps(static_cast<__mmask16>(~tiny), _mm512_scalef_ps(p, k));
}

// silu(g) * u for 16 values (ops.h: swiglu_fast): e^-|g| never overflows, and for g < 0 the ratio
// 1 / (1 + e^-g) is rewritten as e / (1 + e) with e = e^g.
inline __m512 swiglu16(__m512 g, __m512 u) {
  const __m512 e = exp_nonpos(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(g)));
  const __mmask16 neg = _mm512_cmp_ps_mask(g, _mm512_setzero_ps(), _CMP_LT_OQ);
  const __m512 num = _mm512_mask_mul_ps(g, neg, g, e);
  return _mm512_mul_ps(_mm512_div_ps(num, _mm512_add_ps(_mm512_set1_ps(1.0f), e)), u);
}

}  // namespace

void avx512_swiglu(const float* gate, const float* up, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(out + i, swiglu16(_mm512_loadu_ps(gate + i), _mm512_loadu_ps(up + i)));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(out + i, m, swiglu16(_mm512_maskz_loadu_ps(m, gate + i), _mm512_maskz_loadu_ps(m, up + i)));
  }
}

void avx512_floats_to_halves(const float* x, int64_t n, uint16_t* out) {
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm512_cvtps_ph(_mm512_loadu_ps(x + i), kRound));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm256_mask_storeu_epi16(out + i, m, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), kRound));
  }
}

void avx512_halves_to_floats(const uint16_t* x, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i))));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(out + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i)));
  }
}

void avx512_softmax(float* x, int64_t n) {
  __m512 vmax = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(x + i));
  const __mmask16 tail = static_cast<__mmask16>((1u << (n - i)) - 1u);
  if (i < n) {
    vmax = _mm512_mask_max_ps(vmax, tail, vmax,
                              _mm512_mask_loadu_ps(_mm512_set1_ps(-std::numeric_limits<float>::infinity()), tail, x + i));
  }
  const float max = _mm512_reduce_max_ps(vmax);
  if (max == -std::numeric_limits<float>::infinity()) {  // nothing to attend to: all zero, as the reference
    for (int64_t j = 0; j < n; ++j) x[j] = 0.0f;
    return;
  }
  const __m512 vm = _mm512_set1_ps(max);
  __m512 sum = _mm512_setzero_ps();
  for (i = 0; i + 16 <= n; i += 16) {
    const __m512 e = exp_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm));
    _mm512_storeu_ps(x + i, e);
    sum = _mm512_add_ps(sum, e);
  }
  if (i < n) {
    const __m512 e = _mm512_maskz_mov_ps(tail, exp_nonpos(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + i), vm)));
    _mm512_mask_storeu_ps(x + i, tail, e);
    sum = _mm512_add_ps(sum, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
  for (i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inv));
  if (i < n) _mm512_mask_storeu_ps(x + i, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, x + i), inv));
}

}  // namespace pocket::kernels::simd

namespace pocket::kernels::simd {
namespace {

// 16 vectors -> one vector of their 16 horizontal sums (lane i = sum of r[i]).
inline __m512 hsum16(const __m512 r[16]) {
  __m512 s[8], t[4];
  for (int i = 0; i < 8; ++i) {
    s[i] = _mm512_add_ps(_mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]), _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]));
  }
  for (int i = 0; i < 4; ++i) {  // per 128-bit lane: [r4i, r4i+1, r4i+2, r4i+3] partial sums
    const __m512d a = _mm512_castps_pd(s[2 * i]), b = _mm512_castps_pd(s[2 * i + 1]);
    t[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  const __m512 v01 = _mm512_add_ps(_mm512_shuffle_f32x4(t[0], t[1], 0x88), _mm512_shuffle_f32x4(t[0], t[1], 0xDD));
  const __m512 v23 = _mm512_add_ps(_mm512_shuffle_f32x4(t[2], t[3], 0x88), _mm512_shuffle_f32x4(t[2], t[3], 0xDD));
  return _mm512_add_ps(_mm512_shuffle_f32x4(v01, v23, 0x88), _mm512_shuffle_f32x4(v01, v23, 0xDD));
}

// 16 K/V values as f32: f32 rows are loaded, f16 rows (an f16 KV cache) converted exactly on the way in, so the
// f16 kernels do the very arithmetic of the f32 ones on the converted values.
inline __m512 load16(const float* x) { return _mm512_loadu_ps(x); }
inline __m512 load16(const uint16_t* x) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)));
}

template <int NV, class T>
void dot_rows_nv(const float* q, const T* k, int64_t k_stride, int64_t n_keys, float* out) {
  __m512 qv[NV];
  for (int v = 0; v < NV; ++v) qv[v] = _mm512_loadu_ps(q + 16 * v);
  int64_t j = 0;
  for (; j + 16 <= n_keys; j += 16) {
    __m512 r[16];
    for (int i = 0; i < 16; ++i) {
      const T* kj = k + (j + i) * k_stride;
      __m512 acc = _mm512_mul_ps(qv[0], load16(kj));
      for (int v = 1; v < NV; ++v) acc = _mm512_fmadd_ps(qv[v], load16(kj + 16 * v), acc);
      r[i] = acc;
    }
    _mm512_storeu_ps(out + j, hsum16(r));
  }
  for (; j < n_keys; ++j) {
    const T* kj = k + j * k_stride;
    __m512 acc = _mm512_mul_ps(qv[0], load16(kj));
    for (int v = 1; v < NV; ++v) acc = _mm512_fmadd_ps(qv[v], load16(kj + 16 * v), acc);
    out[j] = _mm512_reduce_add_ps(acc);
  }
}

template <int NV, class T>
void weighted_rows_nv(const float* p, const T* v, int64_t v_stride, int64_t n, float* out) {
  __m512 acc[NV];
  for (int i = 0; i < NV; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; ++j) {
    if (p[j] == 0.0f) continue;
    const __m512 pj = _mm512_set1_ps(p[j]);
    const T* vj = v + j * v_stride;
    for (int i = 0; i < NV; ++i) acc[i] = _mm512_fmadd_ps(pj, load16(vj + 16 * i), acc[i]);
  }
  for (int i = 0; i < NV; ++i) _mm512_storeu_ps(out + 16 * i, acc[i]);
}

// hd x f16 -> f32 for the head sizes without an NV kernel.
void widen(const uint16_t* x, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = half_to_float(x[i]);
}

}  // namespace

void avx512_dot_rows(const float* q, const float* k, int64_t k_stride, int64_t n_keys, int64_t hd, float* out) {
  switch (hd) {
    case 64: dot_rows_nv<4>(q, k, k_stride, n_keys, out); return;
    case 128: dot_rows_nv<8>(q, k, k_stride, n_keys, out); return;
    case 256: dot_rows_nv<16>(q, k, k_stride, n_keys, out); return;
    default:
      for (int64_t j = 0; j < n_keys; ++j) out[j] = avx512_dot(q, k + j * k_stride, hd);
  }
}

void avx512_weighted_rows(const float* p, const float* v, int64_t v_stride, int64_t n, int64_t hdv, float* out) {
  switch (hdv) {
    case 64: weighted_rows_nv<4>(p, v, v_stride, n, out); return;
    case 128: weighted_rows_nv<8>(p, v, v_stride, n, out); return;
    case 256: weighted_rows_nv<16>(p, v, v_stride, n, out); return;
    default:
      for (int64_t i = 0; i < hdv; ++i) out[i] = 0.0f;
      for (int64_t j = 0; j < n; ++j) {
        if (p[j] != 0.0f) avx512_axpy(p[j], v + j * v_stride, out, hdv);
      }
  }
}

void avx512_dot_rows_f16(const float* q, const uint16_t* k, int64_t k_stride, int64_t n_keys, int64_t hd,
                         float* out) {
  switch (hd) {
    case 64: dot_rows_nv<4>(q, k, k_stride, n_keys, out); return;
    case 128: dot_rows_nv<8>(q, k, k_stride, n_keys, out); return;
    case 256: dot_rows_nv<16>(q, k, k_stride, n_keys, out); return;
    default: {
      std::vector<float> row(static_cast<size_t>(hd));
      for (int64_t j = 0; j < n_keys; ++j) {
        widen(k + j * k_stride, hd, row.data());
        out[j] = avx512_dot(q, row.data(), hd);
      }
    }
  }
}

void avx512_weighted_rows_f16(const float* p, const uint16_t* v, int64_t v_stride, int64_t n, int64_t hdv,
                              float* out) {
  switch (hdv) {
    case 64: weighted_rows_nv<4>(p, v, v_stride, n, out); return;
    case 128: weighted_rows_nv<8>(p, v, v_stride, n, out); return;
    case 256: weighted_rows_nv<16>(p, v, v_stride, n, out); return;
    default: {
      std::vector<float> row(static_cast<size_t>(hdv));
      for (int64_t i = 0; i < hdv; ++i) out[i] = 0.0f;
      for (int64_t j = 0; j < n; ++j) {
        if (p[j] == 0.0f) continue;
        widen(v + j * v_stride, hdv, row.data());
        avx512_axpy(p[j], row.data(), out, hdv);
      }
    }
  }
}

}  // namespace pocket::kernels::simd

// Multi-query attention helpers (ops.h: dot_rows_multi_f32, weighted_rows_multi_f32): a block of query rows of
// one head against the same keys / values, so each K/V element read from L2 serves many query rows. Both are
// small GEMMs with up to 16 query rows per pass: dot transposes q to [hd][16] (lane = query row) and broadcasts
// key values; weighted transposes p to [key][16] and broadcasts it against full zmm rows of v.
namespace pocket::kernels::simd {
namespace {

// In-register transpose of 16 rows x 16 floats: on return r[c] holds column c (lane i = old r[i][c]).
inline void transpose16x16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {  // per 128-bit lane L: t[2i] = rows 2i,2i+1 interleaved at cols 4L, 4L+1
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // u[4i + c], lane L = rows 4i..4i+3 at column 4L + c
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 2]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 1]), d = _mm512_castps_pd(t[4 * i + 3]);
    u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
    u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
    u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
    u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
  }
  for (int c = 0; c < 4; ++c) {  // gather lane L of u[c], u[4+c], u[8+c], u[12+c] into column 4L + c
    const __m512 lo01 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44);
    const __m512 hi01 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE);
    const __m512 lo23 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44);
    const __m512 hi23 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
    r[c] = _mm512_shuffle_f32x4(lo01, lo23, 0x88);
    r[4 + c] = _mm512_shuffle_f32x4(lo01, lo23, 0xDD);
    r[8 + c] = _mm512_shuffle_f32x4(hi01, hi23, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(hi01, hi23, 0xDD);
  }
}

inline __mmask16 low_mask(int64_t n) {  // first min(n, 16) lanes
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}

// Rows x[i * x_stride + c] for i < m (m <= 16), c < n, stored as columns: xt[c * 16 + i]; lanes i >= m are zero.
// xt is 64-byte aligned with room for n x 16 floats.
void transpose_rows(const float* x, int64_t x_stride, int64_t m, int64_t n, float* xt) {
  for (int64_t c0 = 0; c0 < n; c0 += 16) {
    const __mmask16 cm = low_mask(n - c0);
    __m512 r[16];
    for (int i = 0; i < 16; ++i) {
      r[i] = i < m ? _mm512_maskz_loadu_ps(cm, x + i * x_stride + c0) : _mm512_setzero_ps();
    }
    transpose16x16(r);
    const int64_t nc = n - c0 < 16 ? n - c0 : 16;
    for (int64_t c = 0; c < nc; ++c) _mm512_store_ps(xt + (c0 + c) * 16, r[c]);
  }
}

// Keys as the broadcast operand: acc[i] lane r = dot(q_r, k_i) for 8 keys k + i * k_stride, i < m (acc[i] for
// i >= m is garbage, never stored), q_r = column r of qt ([hd][16]). Each qt row load feeds 8 FMAs.
inline void scores_keys8(const float* qt, const float* k, int64_t k_stride, int64_t m, int64_t hd, __m512 acc[8]) {
  const float* kr[8];
  for (int i = 0; i < 8; ++i) kr[i] = k + (i < m ? i : 0) * k_stride;  // missing keys re-read key 0 (in bounds)
  for (int i = 0; i < 8; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t d = 0; d < hd; ++d) {
    const __m512 qd = _mm512_load_ps(qt + d * 16);
    for (int i = 0; i < 8; ++i) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(kr[i][d]), qd, acc[i]);
  }
}

// Up to 16 query rows (qt) against all keys: per 16 keys, two passes of scores_keys8 give a [key][row] tile,
// transposed once in registers. (Transposing the keys instead, hd / 16 transposes per 16 keys, measured 1.6x
// slower at hd = 64 and nq = 16, and no faster for nq = 4.)
void dot_rows_group(const float* qt, int64_t nr, const float* k, int64_t k_stride, int64_t n_keys, int64_t hd,
                    float* scores, int64_t s_stride) {
  for (int64_t j0 = 0; j0 < n_keys; j0 += 16) {
    const int64_t m = n_keys - j0 < 16 ? n_keys - j0 : 16;
    __m512 t[16];
    scores_keys8(qt, k + j0 * k_stride, k_stride, m, hd, t);
    if (m > 8) {
      scores_keys8(qt, k + (j0 + 8) * k_stride, k_stride, m - 8, hd, t + 8);
    } else {
      for (int i = 8; i < 16; ++i) t[i] = _mm512_setzero_ps();
    }
    transpose16x16(t);  // t[r] lane i = score of row r, key j0 + i; lanes i >= m are not stored
    const __mmask16 mask = low_mask(m);
    for (int64_t r = 0; r < nr; ++r) _mm512_mask_storeu_ps(scores + r * s_stride + j0, mask, t[r]);
  }
}

}  // namespace

void avx512_dot_rows_multi(const float* q, int64_t q_stride, int64_t nq, const float* k, int64_t k_stride,
                           int64_t n_keys, int64_t hd, float* scores, int64_t s_stride) {
  constexpr int64_t kMaxHd = 256;  // qt: kMaxHd x 16 floats = 16 KiB on the stack (stays in L1)
  // Below 4 rows the single-row kernel is as fast: this one computes all 16 lanes of query rows regardless of nq
  // (measured, hd = 64).
  if (hd > kMaxHd || nq < 4) {
    for (int64_t r = 0; r < nq; ++r) {
      avx512_dot_rows(q + r * q_stride, k, k_stride, n_keys, hd, scores + r * s_stride);
    }
    return;
  }
  alignas(64) float qt[kMaxHd * 16];
  for (int64_t r0 = 0; r0 < nq; r0 += 16) {
    const int64_t nr = nq - r0 < 16 ? nq - r0 : 16;
    transpose_rows(q + r0 * q_stride, q_stride, nr, hd, qt);
    dot_rows_group(qt, nr, k, k_stride, n_keys, hd, scores + r0 * s_stride, s_stride);
  }
}

namespace {

// Output rows r < nr <= R, columns [0, 16 * T) (the last 16 masked by `m`): (accumulate ? out : 0) + sum over
// j < n of pt[j * 16 + r] * v[j * v_stride]. Each v load feeds R FMAs and each p broadcast T; rows nr..R-1 (zero
// columns of pt) are computed but not stored. 8 rows x 2 zmm measured fastest (16 x 1: 1.2x slower, 4 x 4:
// 1.25x, at hdv = 64 and 128, nq = 16). acc is only indexed by fully unrolled constant-bound loops: a runtime
// bound (r < nr) on a loop over it made GCC keep acc in memory, 2.5x slower.
template <int R, int T>
void weighted_tile(const float* pt, const float* v, int64_t v_stride, int64_t n, __mmask16 m, bool accumulate,
                   int64_t nr, float* out, int64_t out_stride) {
  auto mask = [m](int t) { return t == T - 1 ? m : static_cast<__mmask16>(0xFFFF); };
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) {
      acc[r][t] = accumulate && r < nr ? _mm512_maskz_loadu_ps(mask(t), out + r * out_stride + 16 * t)
                                       : _mm512_setzero_ps();
    }
  }
  // Pointer-only loop state: this is inlined into weighted_group, where a j counter was kept on the stack.
  const float* vj_row = v;
  for (const float *pj = pt, *end = pt + n * 16; pj != end; pj += 16, vj_row += v_stride) {
    __m512 vj[T];
    for (int t = 0; t < T; ++t) vj[t] = _mm512_maskz_loadu_ps(mask(t), vj_row + 16 * t);
    for (int r = 0; r < R; ++r) {
      const __m512 pr = _mm512_set1_ps(pj[r]);
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_fmadd_ps(pr, vj[t], acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) {
      if (r < nr) _mm512_mask_storeu_ps(out + r * out_stride + 16 * t, mask(t), acc[r][t]);
    }
  }
}

// All nr rows of output, for keys [0, n) of one chunk (pt): 32-column tiles, then 16-column (masked) tiles for
// the rest of hdv; per tile, R-row passes back to back so the second finds the v tile in L1.
template <int R>
void weighted_chunk(const float* pt, const float* v, int64_t v_stride, int64_t n, bool accumulate, int64_t nr,
                    int64_t hdv, float* out, int64_t out_stride) {
  int64_t i0 = 0;
  for (; i0 + 32 <= hdv; i0 += 32) {
    for (int64_t r0 = 0; r0 < nr; r0 += R) {
      weighted_tile<R, 2>(pt + r0, v + i0, v_stride, n, 0xFFFF, accumulate, nr - r0, out + r0 * out_stride + i0,
                          out_stride);
    }
  }
  for (; i0 < hdv; i0 += 16) {
    for (int64_t r0 = 0; r0 < nr; r0 += R) {
      weighted_tile<R, 1>(pt + r0, v + i0, v_stride, n, low_mask(hdv - i0), accumulate, nr - r0,
                          out + r0 * out_stride + i0, out_stride);
    }
  }
}

// First and one-past-last key where some row r < nr has a nonzero weight (lo == hi if none).
void nonzero_range(const float* p, int64_t p_stride, int64_t nr, int64_t n_keys, int64_t& lo, int64_t& hi) {
  auto all_zero = [&](int64_t j) {
    for (int64_t r = 0; r < nr; ++r) {
      if (p[r * p_stride + j] != 0.0f) return false;
    }
    return true;
  };
  lo = 0, hi = n_keys;
  while (lo < hi && all_zero(lo)) ++lo;
  while (hi > lo && all_zero(hi - 1)) --hi;
}

// Up to 16 output rows. Keys outside the nonzero range are skipped; the rest go in chunks whose weights are
// transposed to pt[chunk][16] (16 KiB).
void weighted_group(const float* p, int64_t p_stride, int64_t nr, const float* v, int64_t v_stride,
                    int64_t n_keys, int64_t hdv, float* out, int64_t out_stride) {
  constexpr int64_t kChunk = 256;
  alignas(64) float pt[kChunk * 16];
  int64_t lo = 0, hi = 0;
  nonzero_range(p, p_stride, nr, n_keys, lo, hi);
  int64_t c0 = lo;
  do {  // at least once, so that an all-zero block still writes zeros
    const int64_t n = hi - c0 < kChunk ? hi - c0 : kChunk;
    transpose_rows(p + c0, p_stride, nr, n, pt);
    if (nr > 4) {
      weighted_chunk<8>(pt, v + c0 * v_stride, v_stride, n, c0 > lo, nr, hdv, out, out_stride);
    } else {
      weighted_chunk<4>(pt, v + c0 * v_stride, v_stride, n, c0 > lo, nr, hdv, out, out_stride);
    }
    c0 += n;
  } while (c0 < hi);
}

}  // namespace

void avx512_weighted_rows_multi(const float* p, int64_t p_stride, int64_t nq, const float* v, int64_t v_stride,
                                int64_t n_keys, int64_t hdv, float* out, int64_t out_stride) {
  if (nq < 3) {  // 1-2 rows: the single-row kernel wastes no FMAs on padding rows (measured, hdv = 64)
    for (int64_t r = 0; r < nq; ++r) {
      avx512_weighted_rows(p + r * p_stride, v, v_stride, n_keys, hdv, out + r * out_stride);
    }
    return;
  }
  for (int64_t r0 = 0; r0 < nq; r0 += 16) {
    const int64_t nr = nq - r0 < 16 ? nq - r0 : 16;
    weighted_group(p + r0 * p_stride, p_stride, nr, v, v_stride, n_keys, hdv, out + r0 * out_stride, out_stride);
  }
}

}  // namespace pocket::kernels::simd
