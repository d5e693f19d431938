// Inline IEEE half / bfloat16 <-> float conversions, bit-exact with ggml's portable C conversions
// (ggml-impl.h: ggml_compute_fp16_to_fp32, ggml_compute_fp32_to_fp16, GGML_FP32_TO_BF16), so that pocket's
// dequantized values and reference quantizers reproduce ggml's bytes. Used by the dequantizers in this folder and
// by kernels; dtype.h exposes the same functions out of line.
#pragma once

#include <bit>
#include <cstdint>

namespace pocket {

// Exact: every half is representable as a float. A NaN half becomes a quiet float NaN with the payload kept
// (ggml computes it with a float multiply, which quiets signalling NaNs).
inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) {  // inf / NaN
    uint32_t bits = sign | 0x7f800000u | (mant << 13);
    if (mant != 0) bits |= 0x00400000u;
    return std::bit_cast<float>(bits);
  }
  if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in float
    const float mag = static_cast<float>(mant) * 0x1p-24f;
    return sign ? -mag : mag;
  }
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

// Round to nearest, ties to even, with half subnormals; overflow gives inf; NaN gives sign | 0x7e00 (as ggml).
inline uint16_t float_to_half(float f) {
  const uint32_t w = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((w >> 16) & 0x8000u);
  const uint32_t a = w & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u;        // NaN
  if (a >= 0x477ff000u) return sign | 0x7c00u;       // >= 65520 (halfway past 65504) or inf
  if (a >= 0x38800000u) {                            // >= 2^-14: a normal half
    uint32_t h = (a >> 13) - (112u << 10);           // rebias exponent 127 -> 15, keep 10 mantissa bits
    const uint32_t rest = a & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // carry may bump the exponent: still correct
    return static_cast<uint16_t>(sign | h);
  }
  const uint32_t e = a >> 23;
  if (e < 102) return sign;                          // below 2^-25: rounds to zero
  // value = m * 2^(e-150); in units of the half subnormal step 2^-24 that is m >> (126 - e).
  const uint32_t m = (a & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - e;                   // 14..24
  uint32_t q = m >> shift;
  const uint32_t rest = m & ((1u << shift) - 1u);
  const uint32_t halfway = 1u << (shift - 1u);
  if (rest > halfway || (rest == halfway && (q & 1u))) ++q;  // q == 0x400 is the smallest normal: correct
  return static_cast<uint16_t>(sign | q);
}

inline float bf16_bits_to_float(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

// ggml's GGML_FP32_TO_BF16: NaN keeps its top bits and is forced quiet; otherwise round to nearest even
// (subnormals are rounded like any other value, not flushed).
inline uint16_t float_to_bf16_bits(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 64u);
  return static_cast<uint16_t>((u + (0x7fffu + ((u >> 16) & 1u))) >> 16);
}

}  // namespace pocket
