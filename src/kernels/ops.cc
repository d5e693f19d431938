#include "kernels/ops.h"

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/matmul.h"
#include "tensor/half.h"

namespace pocket::kernels {

#if defined(POCKET_HAVE_AVX512)
namespace simd {
float avx512_dot(const float* a, const float* b, int64_t n);
void avx512_axpy(float alpha, const float* x, float* y, int64_t n);
void avx512_softmax(float* x, int64_t n);
void avx512_swiglu(const float* gate, const float* up, int64_t n, float* out);
void avx512_floats_to_halves(const float* x, int64_t n, uint16_t* out);
void avx512_halves_to_floats(const uint16_t* x, int64_t n, float* out);
void avx512_dot_rows(const float* q, const float* k, int64_t k_stride, int64_t n_keys, int64_t hd, float* out);
void avx512_dot_rows_f16(const float* q, const uint16_t* k, int64_t k_stride, int64_t n_keys, int64_t hd,
                         float* out);
void avx512_weighted_rows_f16(const float* p, const uint16_t* v, int64_t v_stride, int64_t n, int64_t hdv,
                              float* out);
void avx512_weighted_rows(const float* p, const float* v, int64_t v_stride, int64_t n, int64_t hdv, float* out);
void avx512_dot_rows_multi(const float* q, int64_t q_stride, int64_t nq, const float* k, int64_t k_stride,
                           int64_t n_keys, int64_t hd, float* scores, int64_t s_stride);
void avx512_weighted_rows_multi(const float* p, int64_t p_stride, int64_t nq, const float* v, int64_t v_stride,
                                int64_t n_keys, int64_t hdv, float* out, int64_t out_stride);
}  // namespace simd
#endif

namespace {
bool use_avx512() {
#if defined(POCKET_HAVE_AVX512)
  static const bool yes = active_target() == SimdTarget::kAvx512;
  return yes;
#else
  return false;
#endif
}
}  // namespace

float dot_f32_fast(const float* a, const float* b, int64_t n) {
#if defined(POCKET_HAVE_AVX512)
  if (use_avx512()) return simd::avx512_dot(a, b, n);
#endif
  return dot_f32(a, b, n);
}

void axpy_f32(float alpha, const float* x, float* y, int64_t n) {
#if defined(POCKET_HAVE_AVX512)
  if (use_avx512()) return simd::avx512_axpy(alpha, x, y, n);
#endif
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void dot_rows_f32(const float* q, const float* k, int64_t k_stride, int64_t n_keys, int64_t hd, float* scores) {
#if defined(POCKET_HAVE_AVX512)
  if (use_avx512()) return simd::avx512_dot_rows(q, k, k_stride, n_keys, hd, scores);
#endif
  dot_rows_multi_f32(q, hd, 1, k, k_stride, n_keys, hd, scores, n_keys);  // the scalar loops below
}

void weighted_rows_f32(const float* p, const float* v, int64_t v_stride, int64_t n, int64_t hdv, float* out) {
#if defined(POCKET_HAVE_AVX512)
  if (use_avx512()) return simd::avx512_weighted_rows(p, v, v_stride, n, hdv, out);
#endif
  weighted_rows_multi_f32(p, n, 1, v, v_stride, n, hdv, out, hdv);  // the scalar loops below
}

void dot_rows_multi_f32(const float* q, int64_t q_stride, int64_t nq, const float* k, int64_t k_stride,
                        int64_t n_keys, int64_t hd, float* scores, int64_t s_stride) {
#if defined(POCKET_HAVE_AVX512)
  if (use_avx512()) return simd::avx512_dot_rows_multi(q, q_stride, nq, k, k_stride, n_keys, hd, scores, s_stride);
#endif
  for (int64_t r = 0; r < nq; ++r) {
    for (int64_t j = 0; j < n_keys; ++j) scores[r * s_stride + j] = dot_f32(q + r * q_stride, k + j * k_stride, hd);
  }
}

void weighted_rows_multi_f32(const float* p, int64_t p_stride, int64_t nq, const float* v, int64_t v_stride,
                             int64_t n_keys, int64_t hdv, float* out, int64_t out_stride) {
#if defined(POCKET_HAVE_AVX512)
  if (use_avx512()) return simd::avx512_weighted_rows_multi(p, p_stride, nq, v, v_stride, n_keys, hdv, out, out_stride);
#endif
  for (int64_t r = 0; r < nq; ++r) {
    const float* pr = p + r * p_stride;
    float* o = out + r * out_stride;
    for (int64_t i = 0; i < hdv; ++i) o[i] = 0.0f;
    for (int64_t j = 0; j < n_keys; ++j) {
      if (pr[j] == 0.0f) continue;
      for (int64_t i = 0; i < hdv; ++i) o[i] += pr[j] * v[j * v_stride + i];
    }
  }
}

void dot_rows_f16(const float* q, const uint16_t* k, int64_t k_stride, int64_t n_keys, int64_t hd, float* scores) {
#if defined(POCKET_HAVE_AVX512)
  if (use_avx512()) return simd::avx512_dot_rows_f16(q, k, k_stride, n_keys, hd, scores);
#endif
  std::vector<float> row(static_cast<size_t>(hd));
  for (int64_t j = 0; j < n_keys; ++j) {
    for (int64_t i = 0; i < hd; ++i) row[i] = half_to_float(k[j * k_stride + i]);
    dot_rows_f32(q, row.data(), hd, 1, hd, scores + j);
  }
}

void weighted_rows_f16(const float* p, const uint16_t* v, int64_t v_stride, int64_t n, int64_t hdv, float* out) {
#if defined(POCKET_HAVE_AVX512)
  if (use_avx512()) return simd::avx512_weighted_rows_f16(p, v, v_stride, n, hdv, out);
#endif
  std::vector<float> rows(static_cast<size_t>(n * hdv));  // [n, hdv] converted: the f32 helper's order
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t i = 0; i < hdv; ++i) rows[j * hdv + i] = half_to_float(v[j * v_stride + i]);
  }
  weighted_rows_f32(p, rows.data(), hdv, n, hdv, out);
}

void softmax_fast(float* x, int64_t n) {
#if defined(POCKET_HAVE_AVX512)
  if (use_avx512()) return simd::avx512_softmax(x, n);
#endif
  softmax(x, n);
}

void swiglu_fast(const float* gate, const float* up, int64_t n, float* out) {
#if defined(POCKET_HAVE_AVX512)
  if (use_avx512()) return simd::avx512_swiglu(gate, up, n, out);
#endif
  swiglu(gate, up, n, out);
}

void rmsnorm(const float* x, const float* weight, int64_t n, float eps, float* y) {
  // Eight partial sums in double: one sequential chain of double adds cost ~4 cycles per value (the server's
  // engine thread ran 200 rows of these per 8-stream step while the worker waited). The order differs from one
  // running sum only in double rounding, ~1e-16 relative: far below the float the mean is rounded to.
  double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) part[k] += static_cast<double>(x[i + k]) * x[i + k];
  }
  for (; i < n; ++i) part[0] += static_cast<double>(x[i]) * x[i];
  const double sum = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int64_t j = 0; j < n; ++j) {
    const float v = x[j] * scale;
    y[j] = weight ? v * weight[j] : v;
  }
}

void softmax(float* x, int64_t n) {
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) max = std::fmax(max, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float e = (x[i] == -std::numeric_limits<float>::infinity()) ? 0.0f : std::exp(x[i] - max);
    x[i] = e;
    sum += e;
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

double log_sum_exp(const float* x, int64_t n) {
  double max = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < n; ++i) max = std::fmax(max, static_cast<double>(x[i]));
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i]) - max);
  return max + std::log(sum);
}

void softcap(float* x, int64_t n, float cap) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i] / cap) * cap;
}

void rope_cache(const RopeParams& p, int64_t pos, float* cs) {
  // ggml: theta starts at pos and is multiplied by base^(-2/n_rot) per pair (float), then divided by the
  // frequency factor and scaled.
  const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));
  float theta = static_cast<float>(pos);
  for (int i = 0; i < p.n_rot / 2; ++i) {
    const float ff = p.freq_factors ? p.freq_factors[i] : 1.0f;
    const float angle = p.freq_scale * (theta / ff);
    cs[2 * i] = std::cos(angle);
    cs[2 * i + 1] = std::sin(angle);
    theta *= theta_scale;
  }
}

void rope_apply(const RopeParams& p, const float* cs, float* x, int n_heads, int head_dim) {
  const int half = p.n_rot / 2;
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<int64_t>(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      const int a = p.style == RopeStyle::kNormal ? 2 * i : i;
      const int b = p.style == RopeStyle::kNormal ? 2 * i + 1 : i + half;
      const float c = cs[2 * i], s = cs[2 * i + 1];
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * c - x1 * s;
      v[b] = x0 * s + x1 * c;
    }
  }
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

namespace {
float gelu_f32(float x) {
  constexpr float kCoefA = 0.044715f;
  constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoefA * x * x)));
}
}  // namespace

float gelu(float x) {
  if (x <= -10.0f) return 0.0f;
  if (x >= 10.0f) return x;
  const float xh = half_to_float(float_to_half(x));
  return half_to_float(float_to_half(gelu_f32(xh)));
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = silu(gate[i]) * up[i];
}

void geglu(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = gelu(gate[i]) * up[i];
}

void floats_to_halves(const float* x, int64_t n, uint16_t* out) {
#if defined(POCKET_HAVE_AVX512)
  if (use_avx512()) return simd::avx512_floats_to_halves(x, n, out);
#endif
  for (int64_t i = 0; i < n; ++i) out[i] = float_to_half(x[i]);
}

void halves_to_floats(const uint16_t* x, int64_t n, float* out) {
#if defined(POCKET_HAVE_AVX512)
  if (use_avx512()) return simd::avx512_halves_to_floats(x, n, out);
#endif
  for (int64_t i = 0; i < n; ++i) out[i] = half_to_float(x[i]);
}

void round_to_f16(float* x, int64_t n) {
  constexpr int64_t kChunk = 256;
  uint16_t h[kChunk];
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t m = n - i < kChunk ? n - i : kChunk;
    floats_to_halves(x + i, m, h);
    halves_to_floats(h, m, x + i);
  }
}

void prefetch_to_l2(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(c + off, 0, 2);  // read, keep in L2 (x86: T1)
}

}  // namespace pocket::kernels
