// The fast matmul: what llama.cpp's CPU mul_mat computes, on SIMD integer kernels.
//
//   y[t, r] = vec_dot(W row r, q(x[t]))   W: [rows, cols] in its stored dtype, x: [n_tokens, cols] f32,
//                                         y: [n_tokens, rows] f32, q = rounding to the weight's vec-dot type
//
// Each activation row is quantized once (Q8_0 / Q8_1 / Q8_K blocks, F16, BF16, or kept in F32), then the rows of W
// are split over the threads of a persistent pool; each thread runs the selected target's GEMM kernel over
// cache-sized tiles of (rows x tokens). n_tokens == 1 is the decode GEMV.
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"
#include "kernels/matmul.h"

namespace pocket::kernels {

// True when w's dtype has a vec-dot kernel and w.cols is a whole number of its blocks (and of the activation's).
bool qmatmul_supported(const WeightView& w);

// y[n_tokens, w.rows] = q(x[n_tokens, w.cols]) · Wᵀ with the active SIMD target on n_threads threads (>= 1).
// Precondition: qmatmul_supported(w).
void qmatmul(const WeightView& w, const float* x, int64_t n_tokens, float* y, int n_threads);
// The same with an explicit target (tests, benchmarks); falls back to scalar for types the target lacks.
void qmatmul(const WeightView& w, const float* x, int64_t n_tokens, float* y, int n_threads, SimdTarget target);

// Bytes of one activation row of `cols` values in w's vec-dot type.
int64_t quantized_activation_row_bytes(const WeightView& w);
// Quantizes x[n_tokens, cols] into xq (n_tokens rows of quantized_activation_row_bytes(w) bytes).
void quantize_activations(const WeightView& w, const float* x, int64_t n_tokens, uint8_t* xq);
// The GEMM on already quantized activations (rows split over n_threads threads of the shared pool).
void qmatmul_prequantized(const WeightView& w, const uint8_t* xq, int64_t n_tokens, float* y, int n_threads,
                          simd::GemmFn gemm);

}  // namespace pocket::kernels
