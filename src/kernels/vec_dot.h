// Scalar reference dot products of one quantized weight row with one activation row already rounded to the weight
// type's vec-dot type, bit-faithful to ggml-cpu's generic ggml_vec_dot_<type>_<vec_dot_type> (quants.c, vec.cpp):
// the same integer partial sums and the same float operations in the same order (compiled without FMA
// contraction), so the result is what llama.cpp's scalar CPU path computes.
//
//   weight type                        vec-dot type (activation blocks)
//   Q4_0 Q5_0 Q8_0 IQ4_NL              Q8_0   (d, qs[32])
//   Q4_1 Q5_1                          Q8_1   (d, s = d * sum(qs), qs[32])
//   Q2_K Q3_K Q4_K Q5_K Q6_K           Q8_K   (f32 d, qs[256], bsums[16])
//   F16 / BF16 / F32                   F16 / BF16 / F32 (ggml accumulates in double)
#pragma once

#include <cstdint>

#include "tensor/dtype.h"

namespace pocket::kernels {

// A weight row of n values times an activation row of n values (both packed in their block formats).
using VecDotFn = float (*)(const void* w, const void* a, int64_t n);

// The vec-dot type of a weight type, or nullptr when pocket has no integer kernel for it.
const DTypeInfo* vec_dot_dtype(DType weight);

// Rounds n f32 activations to `vec_dot_type` blocks at dst (row_bytes(vec_dot_type, n) bytes): ggml's
// quantize_row_q8_0_ref / q8_1_ref / q8_K_ref, fp32->fp16, fp32->bf16, or a copy for F32.
void quantize_activation_row(DType vec_dot_type, const float* x, void* dst, int64_t n);

// The scalar reference dot product for a weight type, or nullptr if unsupported.
VecDotFn ref_vec_dot(DType weight);

// The individual reference functions (declared for tests and for the scalar target).
namespace ref {
// Q4_K / Q5_K: unpacks the 12 bytes of 6-bit scales and mins into scales[8] (bytes 0..7) and mins[8] (8..15).
void unpack_k_scales(const uint8_t* packed, uint8_t out[16]);
void quant_row_q8_1(const float* x, void* dst, int64_t n);
float vec_dot_q4_0(const void* w, const void* a, int64_t n);
float vec_dot_q4_1(const void* w, const void* a, int64_t n);
float vec_dot_q5_0(const void* w, const void* a, int64_t n);
float vec_dot_q5_1(const void* w, const void* a, int64_t n);
float vec_dot_q8_0(const void* w, const void* a, int64_t n);
float vec_dot_iq4_nl(const void* w, const void* a, int64_t n);
float vec_dot_q2_K(const void* w, const void* a, int64_t n);
float vec_dot_q3_K(const void* w, const void* a, int64_t n);
float vec_dot_q4_K(const void* w, const void* a, int64_t n);
float vec_dot_q5_K(const void* w, const void* a, int64_t n);
float vec_dot_q6_K(const void* w, const void* a, int64_t n);
float vec_dot_f16(const void* w, const void* a, int64_t n);
float vec_dot_bf16(const void* w, const void* a, int64_t n);
float vec_dot_f32(const void* w, const void* a, int64_t n);
}  // namespace ref

}  // namespace pocket::kernels
