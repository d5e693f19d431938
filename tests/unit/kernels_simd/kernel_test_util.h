// Random and edge-case inputs for the kernel tests, plus the error bound shared by them.
//
// Error bound. The reference and a SIMD kernel both compute sum_b f_b, where each block term f_b is a product of
// at most 3 float scales and an exact integer (all integer partial sums are exact in both: see x86_gemm.inc), and
// they differ only in how the float products are rounded and in the order of the float additions (sequential over
// blocks in ggml, 8 lanes + horizontal sum in SIMD, double accumulation for the float types in ggml). For any such
// evaluation order with m sequential roundings, |computed - exact| <= gamma_m * T with gamma_m = m*u/(1-m*u),
// u = 2^-24, and T = sum over all elements of |the weight's magnitude| * |the activation|, where the weight's
// magnitude counts scale and min parts separately (|d*sc*q| + |dmin*m|), so that cancellation inside a block term
// cannot hide rounding; a kernel that splits w = d * (u - off) into two float terms gets off * |d| counted too.
// m <= n / 8 + 16: at most two float terms (value and offset/min) per sub-block of >= 16 values, plus 8 lanes,
// 3 horizontal steps and 3 scale products. Two such results differ by at most 2 * gamma_m * T; the tests use exactly that.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/vec_dot.h"
#include "tensor/blocks.h"
#include "tensor/dtype.h"
#include "tensor/half.h"

namespace pocket::kernels::testing {

enum class Scales { kRandom, kZero, kMax, kNegative };

// Fills one weight row of n values of type t with random quants and scales according to `scales`.
inline void random_weight_row(DType t, int64_t n, std::mt19937& rng, Scales scales, uint8_t* out) {
  const DTypeInfo& info = dtype_info(t);
  const int64_t bytes = row_bytes(info, n);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  if (t == DType::kF32 || t == DType::kF16 || t == DType::kBF16) {
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& f : v) f = scales == Scales::kZero ? 0.0f : (scales == Scales::kMax ? 60000.0f * uni(rng) : uni(rng));
    info.quant(v.data(), out, n);
    return;
  }
  for (int64_t i = 0; i < bytes; ++i) out[i] = static_cast<uint8_t>(byte(rng));
  auto half_scale = [&](float mag) -> uint16_t {
    switch (scales) {
      case Scales::kZero: return 0;
      case Scales::kMax: return uni(rng) < 0 ? 0xfbffu : 0x7bffu;  // -/+65504
      case Scales::kNegative: return float_to_half(-std::fabs(uni(rng)) * mag);
      default: return float_to_half(uni(rng) * mag);
    }
  };
  const int64_t nb = n / info.block_elems;
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* blk = out + b * info.block_bytes;
    auto set16 = [&](size_t offset, uint16_t v) { std::memcpy(blk + offset, &v, 2); };
    switch (t) {
      case DType::kQ4_0: case DType::kQ5_0: case DType::kQ8_0: case DType::kIQ4_NL:
        set16(0, half_scale(0.05f));
        break;
      case DType::kQ4_1: case DType::kQ5_1:
        set16(0, half_scale(0.05f));
        set16(2, half_scale(0.5f));
        break;
      case DType::kQ2_K: set16(offsetof(block_q2_K, d), half_scale(0.01f)); set16(offsetof(block_q2_K, dmin), half_scale(0.01f)); break;
      case DType::kQ3_K: set16(offsetof(block_q3_K, d), half_scale(0.01f)); break;
      case DType::kQ4_K: set16(offsetof(block_q4_K, d), half_scale(0.01f)); set16(offsetof(block_q4_K, dmin), half_scale(0.01f)); break;
      case DType::kQ5_K: set16(offsetof(block_q5_K, d), half_scale(0.01f)); set16(offsetof(block_q5_K, dmin), half_scale(0.01f)); break;
      case DType::kQ6_K: set16(offsetof(block_q6_K, d), half_scale(0.01f)); break;
      default: break;
    }
  }
}

// Magnitudes |d*sc*q| + |dmin*m| (or |d*q| + |m|) of each weight value: the table's dequantizer on a copy whose
// scales are made positive and whose mins are signed so that both parts add.
inline std::vector<float> weight_magnitudes(DType t, const uint8_t* row, int64_t n) {
  const DTypeInfo& info = dtype_info(t);
  std::vector<uint8_t> copy(row, row + row_bytes(info, n));
  const int64_t nb = n / info.block_elems;
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* blk = copy.data() + b * info.block_bytes;
    auto fix = [&](size_t offset, bool negative) {
      uint16_t v;
      std::memcpy(&v, blk + offset, 2);
      v = static_cast<uint16_t>(negative ? (v | 0x8000u) : (v & 0x7fffu));
      std::memcpy(blk + offset, &v, 2);
    };
    switch (t) {
      case DType::kQ4_1: case DType::kQ5_1: fix(0, false); fix(2, false); break;
      case DType::kQ2_K: fix(offsetof(block_q2_K, d), false); fix(offsetof(block_q2_K, dmin), true); break;
      case DType::kQ4_K: fix(offsetof(block_q4_K, d), false); fix(offsetof(block_q4_K, dmin), true); break;
      case DType::kQ5_K: fix(offsetof(block_q5_K, d), false); fix(offsetof(block_q5_K, dmin), true); break;
      default: break;
    }
  }
  std::vector<float> out(static_cast<size_t>(n));
  info.dequant(copy.data(), out.data(), n);
  for (auto& v : out) v = std::fabs(v);
  // The kernels may split a weight w = d * (u - off) into d * u and -off * d with u unsigned (VNNI path): count
  // off * |d| too so that cancellation between the two terms cannot hide rounding.
  int off = 0;
  switch (t) {
    case DType::kQ8_0: case DType::kIQ4_NL: off = 128; break;
    case DType::kQ4_0: off = 8; break;
    case DType::kQ5_0: off = 16; break;
    default: break;
  }
  if (off != 0) {
    for (int64_t i = 0; i < n; ++i) {
      uint16_t d;
      std::memcpy(&d, row + (i / 32) * info.block_bytes, 2);
      out[i] += static_cast<float>(off) * std::fabs(half_to_float(d));
    }
  }
  return out;
}

// Dequantized activation values (vec-dot type blocks).
inline std::vector<float> activation_values(DType act, const uint8_t* row, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  if (act == DType::kQ8_1) {
    const auto* b = reinterpret_cast<const block_q8_1*>(row);
    for (int64_t i = 0; i < n; ++i) out[i] = half_to_float(b[i / 32].d) * b[i / 32].qs[i % 32];
  } else {
    dtype_info(act).dequant(row, out.data(), n);
  }
  return out;
}

// 2 * gamma_m * T (see the file comment), plus the |m*s| terms of Q4_1/Q5_1 bounded by |m| * |s| <= the
// magnitudes already counted times (1 + 2^-10) for s's half rounding.
inline double pair_bound(DType w, const uint8_t* wrow, DType act, const uint8_t* arow, int64_t n) {
  const auto mw = weight_magnitudes(w, wrow, n);
  const auto va = activation_values(act, arow, n);
  double t = 0;
  for (int64_t i = 0; i < n; ++i) t += static_cast<double>(mw[i]) * std::fabs(static_cast<double>(va[i]));
  const double m = static_cast<double>(n / 8 + 16) + (dtype_info(w).block_elems == 1 ? static_cast<double>(n) : 0.0);
  const double u = std::ldexp(1.0, -24);
  const double gamma = m * u / (1 - m * u);
  return 2.0 * gamma * t * (1.0 + std::ldexp(1.0, -9)) + 1e-30;
}

// Q4_1/Q5_1 against an exact evaluation only: the activation's s = fp16(d * sum(q)) uses the unrounded d (the
// qs are scaled by fp16(d), relative difference <= 2^-11) and is itself rounded to half (<= 2^-11), so m * s
// differs from m * sum(a) by up to |m| * |s| * 2^-10 (1 + 2^-11) per block.
inline double q8_1_sum_rounding(DType w, const uint8_t* wrow, const uint8_t* arow, int64_t n) {
  if (w != DType::kQ4_1 && w != DType::kQ5_1) return 0.0;
  const DTypeInfo& info = dtype_info(w);
  const auto* a = reinterpret_cast<const block_q8_1*>(arow);
  double e = 0;
  for (int64_t b = 0; b < n / 32; ++b) {
    uint16_t m;
    std::memcpy(&m, wrow + b * info.block_bytes + 2, 2);
    e += std::fabs(static_cast<double>(half_to_float(m)) * half_to_float(a[b].s)) * std::ldexp(1.0, -10);
  }
  return e * (1.0 + std::ldexp(1.0, -10));
}

inline std::vector<float> random_floats(int64_t n, std::mt19937& rng, float scale) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = g(rng) * scale;
  return v;
}

inline constexpr DType kAllKernelTypes[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                                            DType::kIQ4_NL, DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K,
                                            DType::kQ6_K, DType::kF16, DType::kBF16, DType::kF32};

}  // namespace pocket::kernels::testing
