// The type table: ggml's ids and block layouts, names, lookups, and agreement with the block structs.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tensor/blocks.h"
#include "tensor/dtype.h"

namespace pocket {
namespace {

struct Layout {
  uint32_t id;
  const char* name;
  int64_t elems;
  int64_t bytes;
};

// ggml.h ids and ggml-common.h block sizes, written out independently of dtype.cc.
constexpr Layout kGgml[] = {
    {0, "F32", 1, 4},          {1, "F16", 1, 2},          {2, "Q4_0", 32, 18},      {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},       {7, "Q5_1", 32, 24},       {8, "Q8_0", 32, 34},      {9, "Q8_1", 32, 36},
    {10, "Q2_K", 256, 84},     {11, "Q3_K", 256, 110},    {12, "Q4_K", 256, 144},   {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},    {15, "Q8_K", 256, 292},    {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98},  {19, "IQ1_S", 256, 50},    {20, "IQ4_NL", 32, 18},   {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82},    {23, "IQ4_XS", 256, 136},  {24, "I8", 1, 1},         {25, "I16", 1, 2},
    {26, "I32", 1, 4},         {27, "I64", 1, 8},         {28, "F64", 1, 8},        {29, "IQ1_M", 256, 56},
    {30, "BF16", 1, 2},        {34, "TQ1_0", 256, 54},    {35, "TQ2_0", 256, 66},   {39, "MXFP4", 32, 17},
};

TEST(DTypeTable, MatchesGgmlLayouts) {
  ASSERT_EQ(all_dtypes().size(), std::size(kGgml));
  for (const Layout& want : kGgml) {
    SCOPED_TRACE(want.name);
    const DTypeInfo* row = dtype_info(want.id);
    ASSERT_NE(row, nullptr);
    EXPECT_EQ(static_cast<uint32_t>(row->id), want.id);
    EXPECT_STREQ(row->name, want.name);
    EXPECT_EQ(row->block_elems, want.elems);
    EXPECT_EQ(row->block_bytes, want.bytes);
  }
}

TEST(DTypeTable, RowsInIdOrderAndUnique) {
  std::set<std::string> names;
  uint32_t previous = 0;
  bool first = true;
  for (const DTypeInfo& row : all_dtypes()) {
    const auto id = static_cast<uint32_t>(row.id);
    if (!first) {
      EXPECT_GT(id, previous) << row.name;
    }
    first = false;
    previous = id;
    EXPECT_TRUE(names.insert(row.name).second) << "duplicate name " << row.name;
    EXPECT_EQ(dtype_info(id), &row);
    EXPECT_EQ(&dtype_info(row.id), &row);
  }
}

TEST(DTypeTable, UnknownIdsAreNull) {
  for (uint32_t id : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 40u, 41u, 100u, 255u, 256u, 0xffffffffu}) {
    EXPECT_EQ(dtype_info(id), nullptr) << id;
  }
  std::set<uint32_t> known;
  for (const Layout& l : kGgml) known.insert(l.id);
  for (uint32_t id = 0; id < 1000; ++id) EXPECT_EQ(dtype_info(id) != nullptr, known.count(id) == 1) << id;
}

TEST(DTypeTable, NamesRoundTrip) {
  for (const DTypeInfo& row : all_dtypes()) {
    EXPECT_EQ(dtype_by_name(row.name), &row) << row.name;
  }
  // ggml's own lowercase spellings are accepted.
  EXPECT_EQ(dtype_by_name("q4_K"), &dtype_info(DType::kQ4_K));
  EXPECT_EQ(dtype_by_name("bf16"), &dtype_info(DType::kBF16));
  EXPECT_EQ(dtype_by_name("iq4_nl"), &dtype_info(DType::kIQ4_NL));
  for (const char* bad : {"", "Q4", "Q4_K_M", "F8", "Q4_0 ", " Q4_0", "Q4-0", "q4_2", "f32\n"}) {
    EXPECT_EQ(dtype_by_name(bad), nullptr) << '"' << bad << '"';
  }
}

TEST(DTypeTable, BlockStructsAgreeWithTable) {
  EXPECT_EQ(dtype_info(DType::kQ4_0).block_bytes, int64_t{sizeof(block_q4_0)});
  EXPECT_EQ(dtype_info(DType::kQ4_1).block_bytes, int64_t{sizeof(block_q4_1)});
  EXPECT_EQ(dtype_info(DType::kQ5_0).block_bytes, int64_t{sizeof(block_q5_0)});
  EXPECT_EQ(dtype_info(DType::kQ5_1).block_bytes, int64_t{sizeof(block_q5_1)});
  EXPECT_EQ(dtype_info(DType::kQ8_0).block_bytes, int64_t{sizeof(block_q8_0)});
  EXPECT_EQ(dtype_info(DType::kQ8_1).block_bytes, int64_t{sizeof(block_q8_1)});
  EXPECT_EQ(dtype_info(DType::kQ2_K).block_bytes, int64_t{sizeof(block_q2_K)});
  EXPECT_EQ(dtype_info(DType::kQ3_K).block_bytes, int64_t{sizeof(block_q3_K)});
  EXPECT_EQ(dtype_info(DType::kQ4_K).block_bytes, int64_t{sizeof(block_q4_K)});
  EXPECT_EQ(dtype_info(DType::kQ5_K).block_bytes, int64_t{sizeof(block_q5_K)});
  EXPECT_EQ(dtype_info(DType::kQ6_K).block_bytes, int64_t{sizeof(block_q6_K)});
  EXPECT_EQ(dtype_info(DType::kQ8_K).block_bytes, int64_t{sizeof(block_q8_K)});
  EXPECT_EQ(dtype_info(DType::kIQ4_NL).block_bytes, int64_t{sizeof(block_iq4_nl)});
  EXPECT_EQ(dtype_info(DType::kIQ4_XS).block_bytes, int64_t{sizeof(block_iq4_xs)});
  EXPECT_EQ(alignof(block_q8_K), 1u) << "blocks are packed: readable at any address of a mapped file";
}

TEST(DTypeTable, ComputableTypes) {
  const std::set<std::string> dequant = {"F32",  "F16",  "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
                                         "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ4_NL", "IQ4_XS"};
  const std::set<std::string> quant = {"F32",  "F16",  "BF16", "Q4_0", "Q4_1", "Q5_0",   "Q5_1",  "Q8_0",
                                       "Q8_K", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"};
  for (const DTypeInfo& row : all_dtypes()) {
    EXPECT_EQ(row.dequant != nullptr, dequant.count(row.name) == 1) << row.name;
    EXPECT_EQ(row.quant != nullptr, quant.count(row.name) == 1) << row.name;
  }
}

TEST(DTypeTable, RowBytes) {
  EXPECT_EQ(row_bytes(dtype_info(DType::kF32), 7), 28);
  EXPECT_EQ(row_bytes(dtype_info(DType::kBF16), 256), 512);
  EXPECT_EQ(row_bytes(dtype_info(DType::kQ4_0), 4096), 128 * 18);
  EXPECT_EQ(row_bytes(dtype_info(DType::kQ6_K), 4096), 16 * 210);
  EXPECT_EQ(row_bytes(dtype_info(DType::kMXFP4), 64), 34);
}

}  // namespace
}  // namespace pocket
