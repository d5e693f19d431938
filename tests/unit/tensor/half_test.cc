// IEEE half and bfloat16 conversions: exact edge cases, ties, subnormals, inf/NaN as ggml handles them, and (on
// x86 with F16C) agreement with the hardware converter over a large sample of all float bit patterns.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

#include "tensor/dtype.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace pocket {
namespace {

uint32_t bits(float f) { return std::bit_cast<uint32_t>(f); }
float from_bits(uint32_t u) { return std::bit_cast<float>(u); }

TEST(Fp16, ToFp32EdgeCases) {
  EXPECT_EQ(bits(fp16_to_fp32(0x0000)), 0x00000000u);
  EXPECT_EQ(bits(fp16_to_fp32(0x8000)), 0x80000000u);                // -0 keeps its sign
  EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));             // smallest subnormal
  EXPECT_EQ(fp16_to_fp32(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(fp16_to_fp32(0x03ff), std::ldexp(1023.0f, -24));          // largest subnormal
  EXPECT_EQ(fp16_to_fp32(0x0400), std::ldexp(1.0f, -14));             // smallest normal
  EXPECT_EQ(fp16_to_fp32(0x3c00), 1.0f);
  EXPECT_EQ(fp16_to_fp32(0x3c01), 1.0f + std::ldexp(1.0f, -10));
  EXPECT_EQ(fp16_to_fp32(0x3555), 0.333251953125f);
  EXPECT_EQ(fp16_to_fp32(0xc000), -2.0f);
  EXPECT_EQ(fp16_to_fp32(0x7bff), 65504.0f);                          // max
  EXPECT_EQ(fp16_to_fp32(0xfbff), -65504.0f);
  EXPECT_EQ(bits(fp16_to_fp32(0x7c00)), 0x7f800000u);                 // +inf
  EXPECT_EQ(bits(fp16_to_fp32(0xfc00)), 0xff800000u);                 // -inf
  EXPECT_EQ(bits(fp16_to_fp32(0x7e00)), 0x7fc00000u);                 // quiet NaN
  EXPECT_EQ(bits(fp16_to_fp32(0xfe01)), 0xffc02000u);                 // payload kept
  EXPECT_EQ(bits(fp16_to_fp32(0x7c01)), 0x7fc02000u);                 // signalling NaN comes back quiet
}

TEST(Fp16, FromFp32EdgeCases) {
  EXPECT_EQ(fp32_to_fp16(0.0f), 0x0000);
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(fp32_to_fp16(1.0f), 0x3c00);
  EXPECT_EQ(fp32_to_fp16(-2.0f), 0xc000);
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65519.996f), 0x7bff);                        // just below the halfway point
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);                          // halfway to 65536: ties to even = inf
  EXPECT_EQ(fp32_to_fp16(-65520.0f), 0xfc00);
  EXPECT_EQ(fp32_to_fp16(1e10f), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::max()), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::quiet_NaN()), 0x7e00);  // ggml: sign | 0x7e00
  EXPECT_EQ(fp32_to_fp16(from_bits(0xffc12345u)), 0xfe00);
  EXPECT_EQ(fp32_to_fp16(from_bits(0x7f800001u)), 0x7e00);
  // Ties round to even.
  EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // between 0x3c00 and 0x3c01
  EXPECT_EQ(fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // between 0x3c01 and 0x3c02
  EXPECT_EQ(fp32_to_fp16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3c01);
  EXPECT_EQ(fp32_to_fp16(2047.5f), 0x6800);                           // tie 2047 / 2048: even = 2048
  EXPECT_EQ(fp32_to_fp16(2046.5f), 0x67fe);                           // tie 2046 / 2047: even = 2046
  // Subnormals and underflow.
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);             // tie between 0 and 1 ulp: even = 0
  EXPECT_EQ(fp32_to_fp16(-std::ldexp(1.0f, -25)), 0x8000);
  EXPECT_EQ(fp32_to_fp16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(fp32_to_fp16(3 * std::ldexp(1.0f, -25)), 0x0002);         // tie between 1 and 2: even = 2
  EXPECT_EQ(fp32_to_fp16(5 * std::ldexp(1.0f, -25)), 0x0002);         // tie between 2 and 3: even = 2
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -14) - std::ldexp(1.0f, -25)), 0x0400);  // rounds up into normals
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1023.0f, -24)), 0x03ff);
  EXPECT_EQ(fp32_to_fp16(6e-8f), 0x0001);
  EXPECT_EQ(fp32_to_fp16(1e-8f), 0x0000);
  EXPECT_EQ(fp32_to_fp16(1e-40f), 0x0000);                            // float subnormal
  EXPECT_EQ(fp32_to_fp16(-1e-40f), 0x8000);
}

TEST(Fp16, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    const bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x03ff) != 0;
    if (nan) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      ASSERT_EQ(fp32_to_fp16(f), (h & 0x8000) | 0x7e00) << std::hex << h;
    } else {
      ASSERT_EQ(fp32_to_fp16(f), h) << std::hex << h;
    }
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("f16c"))) uint16_t hw_fp32_to_fp16(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}
__attribute__((target("f16c"))) float hw_fp16_to_fp32(uint16_t h) { return _cvtsh_ss(h); }

bool cpu_has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}

TEST(Fp16, AgreesWithF16cHardware) {
  if (!cpu_has_f16c()) GTEST_SKIP() << "no F16C on this CPU";
  for (uint32_t h = 0; h < 0x10000; ++h) {
    ASSERT_EQ(bits(fp16_to_fp32(static_cast<uint16_t>(h))), bits(hw_fp16_to_fp32(static_cast<uint16_t>(h))))
        << std::hex << h;
  }
  // A stride coprime with 2 visits every residue of the low bits; NaNs differ by design (ggml: 0x7e00).
  uint64_t checked = 0;
  for (uint64_t u = 0; u <= 0xffffffffull; u += 4099) {
    const float f = from_bits(static_cast<uint32_t>(u));
    if (std::isnan(f)) continue;
    ASSERT_EQ(fp32_to_fp16(f), hw_fp32_to_fp16(f)) << std::hex << u;
    ++checked;
  }
  // Every float in the range where halves live (|x| in [2^-26, 2^17)), one sign, low bits exhaustively near ties.
  for (uint32_t e = 101; e < 144; ++e) {
    for (uint32_t m = 0; m < (1u << 23); m += 97) {
      const float f = from_bits((e << 23) | m);
      ASSERT_EQ(fp32_to_fp16(f), hw_fp32_to_fp16(f)) << std::hex << ((e << 23) | m);
      const float g = from_bits((e << 23) | (m & ~0x1fffu) | 0x1000u);  // exact normal-range tie
      ASSERT_EQ(fp32_to_fp16(g), hw_fp32_to_fp16(g)) << std::hex << bits(g);
      ++checked;
    }
  }
  EXPECT_GT(checked, 1000000u);
}
#endif

TEST(Bf16, EdgeCases) {
  EXPECT_EQ(bf16_to_fp32(0x3f80), 1.0f);
  EXPECT_EQ(bits(bf16_to_fp32(0x8000)), 0x80000000u);
  EXPECT_EQ(bits(bf16_to_fp32(0x7f80)), 0x7f800000u);
  EXPECT_EQ(bits(bf16_to_fp32(0x0001)), 0x00010000u);  // subnormal: just a shift
  EXPECT_EQ(bits(bf16_to_fp32(0x7f81)), 0x7f810000u);  // NaN bits kept as they are
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(fp32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(fp32_to_bf16(0.0f), 0x0000);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(fp32_to_bf16(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f808000u)), 0x3f80);  // tie, even stays
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f818000u)), 0x3f82);  // tie, odd rounds up
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f808001u)), 0x3f81);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f807fffu)), 0x3f80);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds up to inf, as ggml
  EXPECT_EQ(fp32_to_bf16(from_bits(0x7f7f7fffu)), 0x7f7f);
  // Subnormals are rounded, not flushed (current ggml).
  EXPECT_EQ(fp32_to_bf16(from_bits(0x00000001u)), 0x0000);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x00008000u)), 0x0000);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x00018000u)), 0x0002);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x807fffffu)), 0x8080);  // largest negative subnormal rounds to -2^-126
  // NaN: top 16 bits kept, forced quiet with bit 6 (ggml's `| 64`).
  EXPECT_EQ(fp32_to_bf16(from_bits(0x7fc00000u)), 0x7fc0);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x7f800001u)), 0x7fc0);
  EXPECT_EQ(fp32_to_bf16(from_bits(0xff812345u)), 0xffc1);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x7fffffffu)), 0x7fff);
}

TEST(Bf16, RoundToNearestEvenOverSample) {
  for (uint64_t u = 0; u <= 0xffffffffull; u += 65537 + 2) {
    const auto w = static_cast<uint32_t>(u);
    if (std::isnan(from_bits(w))) continue;
    uint32_t expected = w >> 16;
    const uint32_t rest = w & 0xffff;
    if (rest > 0x8000 || (rest == 0x8000 && (expected & 1))) ++expected;
    ASSERT_EQ(fp32_to_bf16(from_bits(w)), expected) << std::hex << w;
    ASSERT_EQ(bits(bf16_to_fp32(static_cast<uint16_t>(w >> 16))), w & 0xffff0000u);
  }
}

}  // namespace
}  // namespace pocket
