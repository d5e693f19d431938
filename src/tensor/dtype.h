// The tensor type table: one row per ggml type, with ggml's ids and block layouts.
// Layouts (block_elems, block_bytes) are part of the GGUF format: the reader uses them to validate tensor sizes.
// Computable types carry a scalar reference dequantizer; other ggml types are recognised by name and refused.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace pocket {

// ggml's type ids (ggml.h `enum ggml_type`); gaps are ids ggml removed.
enum class DType : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9,
  kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15,
  kIQ2_XXS = 16, kIQ2_XS = 17, kIQ3_XXS = 18, kIQ1_S = 19, kIQ4_NL = 20, kIQ3_S = 21, kIQ2_S = 22,
  kIQ4_XS = 23, kI8 = 24, kI16 = 25, kI32 = 26, kI64 = 27, kF64 = 28, kIQ1_M = 29, kBF16 = 30,
  kTQ1_0 = 34, kTQ2_0 = 35, kMXFP4 = 39,
};

// Dequantizes `n` values (a multiple of block_elems) from `src` (n / block_elems packed blocks) to f32.
using DequantRowFn = void (*)(const void* src, float* dst, int64_t n);
// Quantizes `n` values (a multiple of block_elems) to packed blocks at `dst` (reference, scalar).
using QuantRowFn = void (*)(const float* src, void* dst, int64_t n);

struct DTypeInfo {
  DType id;
  const char* name;      // ggml's name: "F32", "Q4_K", ...
  int64_t block_elems;   // values per block (1 for plain types)
  int64_t block_bytes;   // bytes per block
  DequantRowFn dequant;  // nullptr: pocket cannot compute with this type
  QuantRowFn quant;      // nullptr: no reference quantizer (yet)
};

// The row for a raw ggml type id, or nullptr if the id is unknown (never a valid ggml type).
const DTypeInfo* dtype_info(uint32_t id);
inline const DTypeInfo& dtype_info(DType t) { return *dtype_info(static_cast<uint32_t>(t)); }
// The row for a ggml type name ("Q4_K"), or nullptr. Exact names first; otherwise matched ignoring case, so
// ggml's own lowercase spellings ("q4_K", "bf16") are accepted too.
const DTypeInfo* dtype_by_name(std::string_view name);
// Every known row, in id order.
std::span<const DTypeInfo> all_dtypes();

// Bytes of one row of `n` values (n a multiple of block_elems).
inline int64_t row_bytes(const DTypeInfo& t, int64_t n) { return n / t.block_elems * t.block_bytes; }

// IEEE half and bfloat16 conversions (round-to-nearest-even, as ggml does; bit-exact with ggml's C conversions
// including subnormals, inf and NaN: see tensor/half.h for the inline versions and the NaN details).
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);
float bf16_to_fp32(uint16_t h);
uint16_t fp32_to_bf16(float f);

}  // namespace pocket
