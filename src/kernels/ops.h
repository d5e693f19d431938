// Scalar reference element-wise and row kernels of the forward pass. Each follows the float operations of
// ggml's CPU implementation closely enough to match llama.cpp within the reference tolerances (2e-3 on logits);
// where ggml rounds through f16 (GELU's table) we round the same way.
#pragma once

#include <cstdint>

namespace pocket::kernels {

// y[n] = x[n] / sqrt(mean(x²) + eps) * weight[n]  (weight may be null: no scaling). Sum of squares in double,
// as ggml. y may alias x.
void rmsnorm(const float* x, const float* weight, int64_t n, float eps, float* y);

// In place: x[n] = softmax(x). -inf entries become 0. Returns nothing; the sum is accumulated in double.
void softmax(float* x, int64_t n);

// log(sum(exp(x))) over n values, computed stably in double.
double log_sum_exp(const float* x, int64_t n);

// x = tanh(x / cap) * cap, in place (Gemma's logit soft-capping).
void softcap(float* x, int64_t n, float cap);

// Rotary position embedding of one head vector x[head_dim] at position `pos`, rotating its first n_rot
// dimensions. kNormal rotates adjacent pairs (x[2i], x[2i+1]) (llama); kNeox rotates halves (x[i], x[i+n_rot/2])
// (GPT-NeoX, qwen2/3, phi3, gemma). Angle for pair i: pos * freq_scale * base^(-2i/n_rot) / freq_factors[i]
// (freq_factors may be null: Llama-3's rope_freqs.weight otherwise).
enum class RopeStyle { kNormal, kNeox };
struct RopeParams {
  RopeStyle style = RopeStyle::kNormal;
  int n_rot = 0;
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;
  const float* freq_factors = nullptr;  // [n_rot / 2] or null
};
// Precomputes cos/sin for one position: cs[n_rot] = {cos θ0, sin θ0, cos θ1, sin θ1, ...}.
void rope_cache(const RopeParams& p, int64_t pos, float* cs);
// Applies a cache from rope_cache() to n_heads consecutive head vectors of head_dim each.
void rope_apply(const RopeParams& p, const float* cs, float* x, int n_heads, int head_dim);

// SiLU: x / (1 + e^-x).
float silu(float x);
// GELU (tanh approximation) as ggml's CPU backend computes it: the input rounded to f16, looked up in a table of
// f16 values of gelu_f32 (GGML_GELU_FP16); |x| >= 10 bypasses the table.
float gelu(float x);
// Gated activations over n values: out[i] = act(gate[i]) * up[i]. out may alias gate or up.
void swiglu(const float* gate, const float* up, int64_t n, float* out);
void geglu(const float* gate, const float* up, int64_t n, float* out);

// Fast-path attention helpers on the active SIMD target (AVX-512 when selected, else the scalar code): the
// summation order differs from dot_f32 / softmax (16 lanes, f32 sum), and softmax_fast's exp is a polynomial
// (~1 ulp), so results differ from the reference path by rounding only.
float dot_f32_fast(const float* a, const float* b, int64_t n);
void axpy_f32(float alpha, const float* x, float* y, int64_t n);  // y[n] += alpha * x[n]
void softmax_fast(float* x, int64_t n);
// swiglu with a polynomial exp (~1 ulp): silu(g) = g * s / (1 + e), e = e^-|g|, s = 1 (g >= 0) or e (g < 0),
// which never overflows. out may alias gate or up.
void swiglu_fast(const float* gate, const float* up, int64_t n, float* out);
// scores[j] = dot(q[hd], k + j * k_stride) for j < n_keys (attention scores of one query head).
void dot_rows_f32(const float* q, const float* k, int64_t k_stride, int64_t n_keys, int64_t hd, float* scores);
// out[hdv] = sum_j p[j] * v[j * v_stride ..] over j < n (p[j] == 0 skipped), overwriting out.
void weighted_rows_f32(const float* p, const float* v, int64_t v_stride, int64_t n, int64_t hdv, float* out);
// Several query rows of one head against the same keys (a block of a prompt), any nq >= 0 (fastest per row at
// nq = 16; the AVX-512 code runs the single-row kernels below 4 rows for dot, 3 for weighted):
// scores[r * s_stride + j] = dot(q + r * q_stride, k + j * k_stride) over hd values, for r < nq, j < n_keys.
// Cells of scores outside j < n_keys are not written. Summation order differs from dot_f32 (rounding only).
void dot_rows_multi_f32(const float* q, int64_t q_stride, int64_t nq, const float* k, int64_t k_stride,
                        int64_t n_keys, int64_t hd, float* scores, int64_t s_stride);
// out[r * out_stride + i] = sum_j p[r * p_stride + j] * v[j * v_stride + i] for i < hdv, r < nq, j < n_keys,
// overwriting out (cells i >= hdv untouched). Keys whose weight is zero in every row of the block at the start or
// end of the range (causal tail, sliding window) are skipped; other zero weights add exact zeros, so v rows of
// keys in between must be finite.
void weighted_rows_multi_f32(const float* p, int64_t p_stride, int64_t nq, const float* v, int64_t v_stride,
                             int64_t n_keys, int64_t hdv, float* out, int64_t out_stride);

// The same two over an f16 cache (K/V rows of IEEE half values, converted exactly as they are read): the result
// is bit-identical to converting the rows to f32 and calling dot_rows_f32 / weighted_rows_f32, without the copy.
void dot_rows_f16(const float* q, const uint16_t* k, int64_t k_stride, int64_t n_keys, int64_t hd, float* scores);
void weighted_rows_f16(const float* p, const uint16_t* v, int64_t v_stride, int64_t n, int64_t hdv, float* out);

// Rounds x[n] through f16 in place (what ggml does when an f32 operand meets an f16 one).
void round_to_f16(float* x, int64_t n);

// Asks for [p, p + bytes) to be brought into L2 ahead of use (a hint: no fault on any address, no effect on
// results). For short streams the hardware prefetcher has not yet learned, such as the next attention item's
// K/V rows: a few KiB each, in a different place of memory for each (head, sequence).
void prefetch_to_l2(const void* p, int64_t bytes);

// Row conversions for an f16 KV cache, on the active SIMD target (F16C instructions under AVX-512): the same
// values as float_to_half / half_to_float (tensor/half.h) element by element, except that a NaN float may become
// a NaN half with another payload.
void floats_to_halves(const float* x, int64_t n, uint16_t* out);
void halves_to_floats(const uint16_t* x, int64_t n, float* out);

}  // namespace pocket::kernels
