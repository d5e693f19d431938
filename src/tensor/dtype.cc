// The type table: one row per ggml type id (ggml.h `enum ggml_type`, ggml.c `type_traits`), names as GGUF
// tooling spells them (gguf-py GGMLQuantizationType: "Q4_K", "BF16"). Block layouts are part of the GGUF format:
// a tensor of n elements occupies n / block_elems * block_bytes bytes.
#include "tensor/dtype.h"

#include <array>
#include <cctype>

#include "tensor/blocks.h"
#include "tensor/half.h"
#include "tensor/quants.h"

namespace pocket {
namespace {

using namespace quants;  // NOLINT: the row functions, named after their types

constexpr std::array<DTypeInfo, 32> kTable = {{
    {DType::kF32, "F32", 1, 4, dequant_row_f32, quant_row_f32},
    {DType::kF16, "F16", 1, 2, dequant_row_f16, quant_row_f16},
    {DType::kQ4_0, "Q4_0", kQK4_0, sizeof(block_q4_0), dequant_row_q4_0, quant_row_q4_0},
    {DType::kQ4_1, "Q4_1", kQK4_1, sizeof(block_q4_1), dequant_row_q4_1, quant_row_q4_1},
    {DType::kQ5_0, "Q5_0", kQK5_0, sizeof(block_q5_0), dequant_row_q5_0, quant_row_q5_0},
    {DType::kQ5_1, "Q5_1", kQK5_1, sizeof(block_q5_1), dequant_row_q5_1, quant_row_q5_1},
    {DType::kQ8_0, "Q8_0", kQK8_0, sizeof(block_q8_0), dequant_row_q8_0, quant_row_q8_0},
    {DType::kQ8_1, "Q8_1", kQK8_1, sizeof(block_q8_1), nullptr, nullptr},
    {DType::kQ2_K, "Q2_K", kQK_K, sizeof(block_q2_K), dequant_row_q2_K, quant_row_q2_K},
    {DType::kQ3_K, "Q3_K", kQK_K, sizeof(block_q3_K), dequant_row_q3_K, quant_row_q3_K},
    {DType::kQ4_K, "Q4_K", kQK_K, sizeof(block_q4_K), dequant_row_q4_K, quant_row_q4_K},
    {DType::kQ5_K, "Q5_K", kQK_K, sizeof(block_q5_K), dequant_row_q5_K, quant_row_q5_K},
    {DType::kQ6_K, "Q6_K", kQK_K, sizeof(block_q6_K), dequant_row_q6_K, quant_row_q6_K},
    {DType::kQ8_K, "Q8_K", kQK_K, sizeof(block_q8_K), dequant_row_q8_K, quant_row_q8_K},
    // IQ super-blocks (ggml-common.h): d + grid indices/signs/scales; no pocket kernels yet.
    {DType::kIQ2_XXS, "IQ2_XXS", 256, 66, nullptr, nullptr},  // d + u16 qs[32]
    {DType::kIQ2_XS, "IQ2_XS", 256, 74, nullptr, nullptr},    // d + u16 qs[32] + scales[8]
    {DType::kIQ3_XXS, "IQ3_XXS", 256, 98, nullptr, nullptr},  // d + qs[96]
    {DType::kIQ1_S, "IQ1_S", 256, 50, nullptr, nullptr},      // d + qs[32] + u16 qh[8]
    {DType::kIQ4_NL, "IQ4_NL", kQK4_NL, sizeof(block_iq4_nl), dequant_row_iq4_nl, quant_row_iq4_nl},
    {DType::kIQ3_S, "IQ3_S", 256, 110, nullptr, nullptr},     // d + qs[64] + qh[8] + signs[32] + scales[4]
    {DType::kIQ2_S, "IQ2_S", 256, 82, nullptr, nullptr},      // d + qs[64] + qh[8] + scales[8]
    {DType::kIQ4_XS, "IQ4_XS", kQK_K, sizeof(block_iq4_xs), dequant_row_iq4_xs, quant_row_iq4_xs},
    {DType::kI8, "I8", 1, 1, nullptr, nullptr},
    {DType::kI16, "I16", 1, 2, nullptr, nullptr},
    {DType::kI32, "I32", 1, 4, nullptr, nullptr},
    {DType::kI64, "I64", 1, 8, nullptr, nullptr},
    {DType::kF64, "F64", 1, 8, nullptr, nullptr},
    {DType::kIQ1_M, "IQ1_M", 256, 56, nullptr, nullptr},      // qs[32] + qh[16] + scales[8]
    {DType::kBF16, "BF16", 1, 2, dequant_row_bf16, quant_row_bf16},
    {DType::kTQ1_0, "TQ1_0", 256, 54, nullptr, nullptr},      // qs[48] + qh[4] + d
    {DType::kTQ2_0, "TQ2_0", 256, 66, nullptr, nullptr},      // qs[64] + d
    {DType::kMXFP4, "MXFP4", 32, 17, nullptr, nullptr},       // e8m0 exponent + qs[16]
}};

constexpr bool table_is_sorted() {
  for (size_t i = 1; i < kTable.size(); ++i) {
    if (static_cast<uint32_t>(kTable[i - 1].id) >= static_cast<uint32_t>(kTable[i].id)) return false;
  }
  return true;
}
static_assert(table_is_sorted(), "rows must be in strictly increasing id order");

constexpr uint32_t kMaxId = 39;
static_assert(static_cast<uint32_t>(kTable.back().id) == kMaxId);

// id -> row index + 1 (0: unknown id).
constexpr std::array<uint8_t, kMaxId + 1> make_index() {
  std::array<uint8_t, kMaxId + 1> index{};
  for (size_t i = 0; i < kTable.size(); ++i) index[static_cast<uint32_t>(kTable[i].id)] = static_cast<uint8_t>(i + 1);
  return index;
}
constexpr auto kIndex = make_index();

// Rows whose block struct is declared in blocks.h must agree with it (the table uses sizeof, so this checks ids).
constexpr bool row_is(DType id, int64_t elems, int64_t bytes) {
  const auto& row = kTable[kIndex[static_cast<uint32_t>(id)] - 1];
  return row.id == id && row.block_elems == elems && row.block_bytes == bytes;
}
static_assert(row_is(DType::kQ4_0, 32, 18) && row_is(DType::kQ4_1, 32, 20) && row_is(DType::kQ5_0, 32, 22) &&
              row_is(DType::kQ5_1, 32, 24) && row_is(DType::kQ8_0, 32, 34) && row_is(DType::kQ8_1, 32, 36));
static_assert(row_is(DType::kQ2_K, 256, 84) && row_is(DType::kQ3_K, 256, 110) && row_is(DType::kQ4_K, 256, 144) &&
              row_is(DType::kQ5_K, 256, 176) && row_is(DType::kQ6_K, 256, 210) && row_is(DType::kQ8_K, 256, 292));
static_assert(row_is(DType::kIQ4_NL, 32, 18) && row_is(DType::kIQ4_XS, 256, 136));
static_assert(row_is(DType::kF32, 1, 4) && row_is(DType::kF16, 1, 2) && row_is(DType::kBF16, 1, 2));

bool equal_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

const DTypeInfo* dtype_info(uint32_t id) {
  if (id > kMaxId || kIndex[id] == 0) return nullptr;
  return &kTable[kIndex[id] - 1];
}

// Exact name first; ggml's own lowercase spellings ("q4_K", "bf16") are accepted too.
const DTypeInfo* dtype_by_name(std::string_view name) {
  for (const auto& row : kTable) {
    if (name == row.name) return &row;
  }
  for (const auto& row : kTable) {
    if (equal_ignore_case(name, row.name)) return &row;
  }
  return nullptr;
}

std::span<const DTypeInfo> all_dtypes() { return kTable; }

float fp16_to_fp32(uint16_t h) { return half_to_float(h); }
uint16_t fp32_to_fp16(float f) { return float_to_half(f); }
float bf16_to_fp32(uint16_t h) { return bf16_bits_to_float(h); }
uint16_t fp32_to_bf16(float f) { return float_to_bf16_bits(f); }

}  // namespace pocket
