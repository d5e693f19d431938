// Dequantization of hand-built blocks. Each test packs chosen levels and scales following the layout as ggml
// documents it (element index -> byte, nibble, bit), independently of the dequantizer's loop structure, and
// expects value = scale * level (- min) exactly: every scale is a small dyadic number, so all products are exact
// in float and the expected values need no tolerance. A few literal values are checked by hand as well.
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "tensor/blocks.h"
#include "tensor/dtype.h"

namespace pocket {
namespace {

std::vector<float> dequant(DType type, const void* blocks, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n), -12345.0f);
  dtype_info(type).dequant(blocks, out.data(), n);
  return out;
}

void expect_values(const std::vector<float>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], static_cast<float>(want[i])) << "element " << i;
}

uint16_t half(float f) { return fp32_to_fp16(f); }

TEST(Dequant, F32F16Bf16) {
  const float f32[3] = {1.5f, -0.0f, 3e38f};
  expect_values(dequant(DType::kF32, f32, 3), {1.5, -0.0, 3e38f});
  const uint16_t f16[4] = {0x3c00, 0xc100, 0x0001, 0x7bff};
  expect_values(dequant(DType::kF16, f16, 4), {1.0, -2.5, 5.9604644775390625e-8, 65504.0});
  const uint16_t bf16[3] = {0x3f80, 0xc020, 0x4780};
  expect_values(dequant(DType::kBF16, bf16, 3), {1.0, -2.5, 65536.0});
}

TEST(Dequant, Q4_0) {
  block_q4_0 b[2];
  b[0].d = half(0.5f);
  for (int j = 0; j < 16; ++j) b[0].qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  b[1].d = half(-1.0f);
  std::memset(b[1].qs, 0xf0, 16);
  std::vector<double> want(64);
  for (int j = 0; j < 16; ++j) {
    want[j] = (j - 8) * 0.5;        // low nibbles: elements 0..15
    want[j + 16] = (7 - j) * 0.5;   // high nibbles: elements 16..31
    want[32 + j] = (0 - 8) * -1.0;
    want[48 + j] = (15 - 8) * -1.0;
  }
  const auto got = dequant(DType::kQ4_0, b, 64);
  expect_values(got, want);
  EXPECT_EQ(got[0], -4.0f);
  EXPECT_EQ(got[16], 3.5f);
  EXPECT_EQ(got[63], -7.0f);
}

TEST(Dequant, Q4_1) {
  block_q4_1 b;
  b.d = half(0.25f);
  b.m = half(-1.0f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((j ^ 5) << 4));
  std::vector<double> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = j * 0.25 - 1.0;
    want[j + 16] = (j ^ 5) * 0.25 - 1.0;
  }
  const auto got = dequant(DType::kQ4_1, &b, 32);
  expect_values(got, want);
  EXPECT_EQ(got[15], 2.75f);
}

TEST(Dequant, Q5_0AndQ5_1) {
  const uint32_t qh = 0xa5a5f00fu;  // bit j: fifth bit of element j
  block_q5_0 b0;
  block_q5_1 b1;
  b0.d = half(1.0f);
  b1.d = half(0.5f);
  b1.m = half(2.0f);
  std::memcpy(b0.qh, &qh, 4);
  std::memcpy(b1.qh, &qh, 4);
  for (int j = 0; j < 16; ++j) b0.qs[j] = b1.qs[j] = static_cast<uint8_t>(j | (((j * 7) & 15) << 4));
  std::vector<double> want0(32), want1(32);
  for (int k = 0; k < 32; ++k) {
    const int nibble = k < 16 ? k : ((k - 16) * 7) & 15;
    const int q = nibble | (((qh >> k) & 1) << 4);
    want0[k] = q - 16;
    want1[k] = q * 0.5 + 2.0;
  }
  const auto got0 = dequant(DType::kQ5_0, &b0, 32);
  expect_values(got0, want0);
  expect_values(dequant(DType::kQ5_1, &b1, 32), want1);
  EXPECT_EQ(got0[0], 0.0f);    // nibble 0 | bit 0 set -> 16 - 16
  EXPECT_EQ(got0[4], -12.0f);  // nibble 4, bit 4 clear
  EXPECT_EQ(got0[31], 9.0f);   // nibble (15*7)&15 = 9, bit 31 set -> 25 - 16
}

TEST(Dequant, Q8_0) {
  block_q8_0 b;
  b.d = half(2.0f);
  for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<int8_t>(j * 8 - 128);
  b.qs[31] = 127;
  std::vector<double> want(32);
  for (int j = 0; j < 32; ++j) want[j] = 2.0 * b.qs[j];
  const auto got = dequant(DType::kQ8_0, &b, 32);
  expect_values(got, want);
  EXPECT_EQ(got[0], -256.0f);
  EXPECT_EQ(got[31], 254.0f);
}

// Random levels and scales from a fixed seed.
struct Rand {
  std::mt19937 gen{1234};
  int operator()(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen); }
};

TEST(Dequant, Q2_K) {
  Rand rnd;
  block_q2_K b{};
  b.d = half(0.5f);
  b.dmin = half(0.25f);
  int sc[16], mn[16], level[256];
  for (int s = 0; s < 16; ++s) {
    sc[s] = rnd(0, 15);
    mn[s] = rnd(0, 15);
    b.scales[s] = static_cast<uint8_t>(sc[s] | (mn[s] << 4));
  }
  for (int k = 0; k < 256; ++k) {
    level[k] = rnd(0, 3);
    // 128-element halves; within one, byte k%32 holds elements k, k+32, k+64, k+96 at bits 0, 2, 4, 6.
    b.qs[(k / 128) * 32 + k % 32] |= static_cast<uint8_t>(level[k] << (2 * ((k % 128) / 32)));
  }
  std::vector<double> want(256);
  for (int k = 0; k < 256; ++k) want[k] = 0.5 * sc[k / 16] * level[k] - 0.25 * mn[k / 16];
  expect_values(dequant(DType::kQ2_K, &b, 256), want);

  block_q2_K lit{};
  lit.d = half(1.0f);
  lit.dmin = half(1.0f);
  lit.scales[0] = 0x23;  // scale 3, min 2
  lit.qs[0] = 0xe4;      // elements 0, 32, 64, 96 = levels 0, 1, 2, 3
  const auto got = dequant(DType::kQ2_K, &lit, 256);
  EXPECT_EQ(got[0], -2.0f);   // 3*0 - 2
  EXPECT_EQ(got[1], -2.0f);
  EXPECT_EQ(got[32], 0.0f);   // sub-block 2 has scale 0, min 0
}

TEST(Dequant, Q3_K) {
  Rand rnd;
  block_q3_K b{};
  b.d = half(0.25f);
  int sc[16], level[256];
  for (int s = 0; s < 16; ++s) {
    sc[s] = rnd(0, 63);  // stored 6-bit, meaning sc - 32
    b.scales[s % 8] |= static_cast<uint8_t>((sc[s] & 15) << (s < 8 ? 0 : 4));
    b.scales[8 + s % 4] |= static_cast<uint8_t>((sc[s] >> 4) << (2 * (s / 4)));
  }
  for (int k = 0; k < 256; ++k) {
    level[k] = rnd(-4, 3);
    const int biased = level[k] + 4;  // 0..7: low 2 bits in qs, bit 2 in hmask[k % 32] bit k / 32
    b.qs[(k / 128) * 32 + k % 32] |= static_cast<uint8_t>((biased & 3) << (2 * ((k % 128) / 32)));
    if (biased & 4) b.hmask[k % 32] |= static_cast<uint8_t>(1 << (k / 32));
  }
  std::vector<double> want(256);
  for (int k = 0; k < 256; ++k) want[k] = 0.25 * (sc[k / 16] - 32) * level[k];
  expect_values(dequant(DType::kQ3_K, &b, 256), want);
}

// Packs eight 6-bit scales and mins the way Q4_K and Q5_K store them in 12 bytes.
void pack_k4_scales(const int* sc, const int* mn, uint8_t* out) {
  std::memset(out, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      out[j] = static_cast<uint8_t>(sc[j]);
      out[j + 4] = static_cast<uint8_t>(mn[j]);
    } else {
      out[j + 4] = static_cast<uint8_t>((sc[j] & 15) | ((mn[j] & 15) << 4));
      out[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
      out[j] |= static_cast<uint8_t>((mn[j] >> 4) << 6);
    }
  }
}

TEST(Dequant, Q4_KAndQ5_K) {
  Rand rnd;
  block_q4_K b4{};
  block_q5_K b5{};
  b4.d = b5.d = half(0.125f);
  b4.dmin = b5.dmin = half(0.5f);
  int sc[8], mn[8], level[256];
  for (int j = 0; j < 8; ++j) {
    sc[j] = rnd(0, 63);
    mn[j] = rnd(0, 63);
  }
  pack_k4_scales(sc, mn, b4.scales);
  pack_k4_scales(sc, mn, b5.scales);
  for (int k = 0; k < 256; ++k) {
    level[k] = rnd(0, 31);
    // 64-element chunks of 32 bytes: elements of the first 32 in low nibbles, the next 32 in high nibbles.
    const int byte = (k / 64) * 32 + k % 32;
    const int shift = ((k / 32) % 2) * 4;
    b4.qs[byte] |= static_cast<uint8_t>((level[k] & 15) << shift);
    b5.qs[byte] |= static_cast<uint8_t>((level[k] & 15) << shift);
    if (level[k] & 16) b5.qh[k % 32] |= static_cast<uint8_t>(1 << (k / 32));
  }
  std::vector<double> want4(256), want5(256);
  for (int k = 0; k < 256; ++k) {
    want4[k] = 0.125 * sc[k / 32] * (level[k] & 15) - 0.5 * mn[k / 32];
    want5[k] = 0.125 * sc[k / 32] * level[k] - 0.5 * mn[k / 32];
  }
  expect_values(dequant(DType::kQ4_K, &b4, 256), want4);
  expect_values(dequant(DType::kQ5_K, &b5, 256), want5);

  // Literal: sub-block 5 (elements 160..191) has scale 0b10'0001 = 33 and min 0b11'0010 = 50.
  block_q4_K lit{};
  lit.d = half(1.0f);
  lit.dmin = half(1.0f);
  lit.scales[9] = 0x21;          // scale low 4 = 1, min low 4 = 2
  lit.scales[1] = 2 << 6;        // scale high 2 bits = 2
  lit.scales[5] = 3 << 6;        // min high 2 bits = 3
  lit.qs[2 * 32 + 0] = 0x70;     // element 160 (chunk 2, high nibble) = 7
  const auto got = dequant(DType::kQ4_K, &lit, 256);
  EXPECT_EQ(got[160], 33.0f * 7 - 50.0f);
  EXPECT_EQ(got[161], -50.0f);
  EXPECT_EQ(got[128], 0.0f);
}

TEST(Dequant, Q6_K) {
  Rand rnd;
  block_q6_K b{};
  b.d = half(0.0625f);
  int level[256];
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<int8_t>(rnd(-128, 127));
  for (int k = 0; k < 256; ++k) {
    level[k] = rnd(0, 63);  // meaning level - 32
    // 128-element halves; g = quarter within the half: ql byte (k%32) + 32*(g%2), nibble g/2; qh bits 2g.
    const int g = (k % 128) / 32;
    b.ql[(k / 128) * 64 + k % 32 + 32 * (g % 2)] |= static_cast<uint8_t>((level[k] & 15) << (4 * (g / 2)));
    b.qh[(k / 128) * 32 + k % 32] |= static_cast<uint8_t>((level[k] >> 4) << (2 * g));
  }
  std::vector<double> want(256);
  for (int k = 0; k < 256; ++k) want[k] = 0.0625 * b.scales[k / 16] * (level[k] - 32);
  expect_values(dequant(DType::kQ6_K, &b, 256), want);
}

TEST(Dequant, Q8_K) {
  Rand rnd;
  block_q8_K b{};
  b.d = 0.125f;
  std::vector<double> want(256);
  for (int k = 0; k < 256; ++k) {
    b.qs[k] = static_cast<int8_t>(rnd(-128, 127));
    want[k] = 0.125 * b.qs[k];
  }
  expect_values(dequant(DType::kQ8_K, &b, 256), want);
}

TEST(Dequant, IQ4_NL) {
  block_iq4_nl b;
  b.d = half(0.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  std::vector<double> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = 0.5 * kIQ4NLValues[j];
    want[j + 16] = 0.5 * kIQ4NLValues[15 - j];
  }
  const auto got = dequant(DType::kIQ4_NL, &b, 32);
  expect_values(got, want);
  EXPECT_EQ(got[0], -63.5f);
  EXPECT_EQ(got[16], 56.5f);
  EXPECT_EQ(got[8], 0.5f);
}

TEST(Dequant, IQ4_XS) {
  Rand rnd;
  block_iq4_xs b{};
  b.d = half(0.25f);
  int ls[8], level[256];
  for (int ib = 0; ib < 8; ++ib) {
    ls[ib] = rnd(0, 63);  // meaning ls - 32
    b.scales_l[ib / 2] |= static_cast<uint8_t>((ls[ib] & 15) << (4 * (ib % 2)));
    b.scales_h |= static_cast<uint16_t>((ls[ib] >> 4) << (2 * ib));
  }
  for (int k = 0; k < 256; ++k) {
    level[k] = rnd(0, 15);
    b.qs[(k / 32) * 16 + k % 16] |= static_cast<uint8_t>(level[k] << (4 * ((k % 32) / 16)));
  }
  std::vector<double> want(256);
  for (int k = 0; k < 256; ++k) want[k] = 0.25 * (ls[k / 32] - 32) * kIQ4NLValues[level[k]];
  expect_values(dequant(DType::kIQ4_XS, &b, 256), want);
}

TEST(Dequant, ReadsBlocksAtAnyAddress) {
  // Blocks in a mapped file need not be aligned: dequantize a Q6_K block at an odd address.
  std::vector<uint8_t> buf(1 + sizeof(block_q6_K) * 2, 0);
  block_q6_K b{};
  b.d = half(1.0f);
  b.scales[0] = 2;
  b.ql[0] = 0x01;
  std::memcpy(buf.data() + 1, &b, sizeof(b));
  std::memcpy(buf.data() + 1 + sizeof(b), &b, sizeof(b));
  const auto got = dequant(DType::kQ6_K, buf.data() + 1, 512);
  EXPECT_EQ(got[0], 2.0f * (1 - 32));
  EXPECT_EQ(got[256], 2.0f * (1 - 32));
}

}  // namespace
}  // namespace pocket
