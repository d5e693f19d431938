// Scalar reference (de)quantizers of the type table, one pair per type. They follow ggml's dequantize_row_* and
// quantize_row_*_ref operation by operation (same float operations in the same order, no FMA contraction) so that
// their outputs are bit-identical to ggml's. `n` is the number of values, a multiple of the type's block_elems;
// callers (the table's users) guarantee it. Reach them through dtype_info(...).dequant / .quant; they are declared
// here for the table and for tests.
#pragma once

#include <cstdint>

namespace pocket::quants {

// Plain types (dequant_plain.cc).
void dequant_row_f32(const void* src, float* dst, int64_t n);
void dequant_row_f16(const void* src, float* dst, int64_t n);
void dequant_row_bf16(const void* src, float* dst, int64_t n);
void quant_row_f32(const float* src, void* dst, int64_t n);
void quant_row_f16(const float* src, void* dst, int64_t n);
void quant_row_bf16(const float* src, void* dst, int64_t n);

// 32-element legacy blocks (dequant_legacy.cc, quant_legacy.cc).
void dequant_row_q4_0(const void* src, float* dst, int64_t n);
void dequant_row_q4_1(const void* src, float* dst, int64_t n);
void dequant_row_q5_0(const void* src, float* dst, int64_t n);
void dequant_row_q5_1(const void* src, float* dst, int64_t n);
void dequant_row_q8_0(const void* src, float* dst, int64_t n);
void quant_row_q4_0(const float* src, void* dst, int64_t n);
void quant_row_q4_1(const float* src, void* dst, int64_t n);
void quant_row_q5_0(const float* src, void* dst, int64_t n);
void quant_row_q5_1(const float* src, void* dst, int64_t n);
void quant_row_q8_0(const float* src, void* dst, int64_t n);

// 256-element K-quant super-blocks (dequant_kquants.cc).
void dequant_row_q2_K(const void* src, float* dst, int64_t n);
void dequant_row_q3_K(const void* src, float* dst, int64_t n);
void dequant_row_q4_K(const void* src, float* dst, int64_t n);
void dequant_row_q5_K(const void* src, float* dst, int64_t n);
void dequant_row_q6_K(const void* src, float* dst, int64_t n);
void dequant_row_q8_K(const void* src, float* dst, int64_t n);
void quant_row_q8_K(const float* src, void* dst, int64_t n);
// Reference K-quant quantizers (quant_kquants.cc): ggml's quantize_row_q*_K_ref, no importance matrix.
void quant_row_q2_K(const float* src, void* dst, int64_t n);
void quant_row_q3_K(const float* src, void* dst, int64_t n);
void quant_row_q4_K(const float* src, void* dst, int64_t n);
void quant_row_q5_K(const float* src, void* dst, int64_t n);
void quant_row_q6_K(const float* src, void* dst, int64_t n);

// Non-linear 4-bit types (dequant_iq.cc).
void dequant_row_iq4_nl(const void* src, float* dst, int64_t n);
void dequant_row_iq4_xs(const void* src, float* dst, int64_t n);
// Their quantizers (quant_iq.cc): ggml's quantize_iq4_nl / quantize_iq4_xs without an importance matrix.
void quant_row_iq4_nl(const float* src, void* dst, int64_t n);
void quant_row_iq4_xs(const float* src, void* dst, int64_t n);

}  // namespace pocket::quants
