// AVX-512 f32 helpers of the fast attention path (ops.h: dot_f32_fast, axpy_f32, softmax_fast).
#include <immintrin.h>

#include <cstdint>
#include <limits>

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

}  // namespace

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

template <int NV>
void dot_rows_nv(const float* q, const float* k, int64_t k_stride, int64_t n_keys, float* out) {
  __m512 qv[NV];
  for (int v = 0; v < NV; ++v) qv[v] = _mm512_loadu_ps(q + 16 * v);
  int64_t j = 0;
  for (; j + 16 <= n_keys; j += 16) {
    __m512 r[16];
    for (int i = 0; i < 16; ++i) {
      const float* kj = k + (j + i) * k_stride;
      __m512 acc = _mm512_mul_ps(qv[0], _mm512_loadu_ps(kj));
      for (int v = 1; v < NV; ++v) acc = _mm512_fmadd_ps(qv[v], _mm512_loadu_ps(kj + 16 * v), acc);
      r[i] = acc;
    }
    _mm512_storeu_ps(out + j, hsum16(r));
  }
  for (; j < n_keys; ++j) {
    const float* kj = k + j * k_stride;
    __m512 acc = _mm512_mul_ps(qv[0], _mm512_loadu_ps(kj));
    for (int v = 1; v < NV; ++v) acc = _mm512_fmadd_ps(qv[v], _mm512_loadu_ps(kj + 16 * v), acc);
    out[j] = _mm512_reduce_add_ps(acc);
  }
}

template <int NV>
void weighted_rows_nv(const float* p, const float* v, int64_t v_stride, int64_t n, float* out) {
  __m512 acc[NV];
  for (int i = 0; i < NV; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; ++j) {
    if (p[j] == 0.0f) continue;
    const __m512 pj = _mm512_set1_ps(p[j]);
    const float* vj = v + j * v_stride;
    for (int i = 0; i < NV; ++i) acc[i] = _mm512_fmadd_ps(pj, _mm512_loadu_ps(vj + 16 * i), acc[i]);
  }
  for (int i = 0; i < NV; ++i) _mm512_storeu_ps(out + 16 * i, acc[i]);
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

}  // namespace pocket::kernels::simd
