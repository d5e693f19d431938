// Matrix multiplication of f32 activations by a weight matrix of any dtype that has a dequantizer.
//
//   y[t, r] = sum_c W[r, c] * x[t, c]     W: [rows, cols] (GGUF ne0 = cols, contiguous), x: [n_tokens, cols],
//                                         y: [n_tokens, rows], all row-major f32 except W.
//
// Paths (MatmulPath):
//   kExact — every weight row is dequantized to f32 once per call, then dotted in f32 with each token's
//            activations: the reference that matches llama.cpp's "dequantize to F32 first" results.
//   kFast  — what llama.cpp's CPU backend computes: activations are first rounded to the weight type's
//            vec-dot type (Q8_0 blocks for Q4_0/Q4_1/Q5_x/Q8_0/IQ4_NL, Q8_K for K-quants and IQ4_XS, F16 for F16,
//            BF16 for BF16, nothing for F32). For now this is simulated in scalar code (quantize, dequantize,
//            f32 dot); the SIMD integer kernels of the speed issue slot in here behind the same signature.
#pragma once

#include <cstdint>
#include <memory>

#include "kernels/packed.h"
#include "tensor/dtype.h"

namespace pocket::kernels {

enum class MatmulPath { kExact, kFast };

// A read-only weight matrix in its stored dtype. `data` holds rows * row_bytes(dtype, cols) bytes.
struct WeightView {
  const DTypeInfo* dtype = nullptr;
  const uint8_t* data = nullptr;
  int64_t cols = 0;  // ne0: the contiguous dimension (the dot-product length)
  int64_t rows = 0;  // ne1: output features
  // Optional copy repacked at load for the active SIMD target (kernels/packed.h); the fast path uses it when set.
  std::shared_ptr<const PackedWeight> packed;
  bool empty() const { return data == nullptr; }
  int64_t row_stride() const { return row_bytes(*dtype, cols); }
  const uint8_t* row(int64_t r) const { return data + r * row_stride(); }
};

// Dequantizes row r of `w` into out[cols].
void dequant_row(const WeightView& w, int64_t r, float* out);

// The dtype activations are rounded to on the fast path (nullptr: they stay f32).
const DTypeInfo* activation_dtype(const DTypeInfo& weight_dtype);

// y[n_tokens, w.rows] = x[n_tokens, w.cols] · Wᵀ, split over output rows on up to n_threads threads.
void matmul(const WeightView& w, const float* x, int64_t n_tokens, float* y, MatmulPath path, int n_threads);

// f32 dot product of length n.
float dot_f32(const float* a, const float* b, int64_t n);

}  // namespace pocket::kernels
