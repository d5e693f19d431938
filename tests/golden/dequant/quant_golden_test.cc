// The reference quantizers against llama.cpp's own output: the quantized reference models were made by
// `llama-quantize --pure` (no importance matrix) from the F32 llama-gqa.gguf, which for these types calls ggml's
// quantize_row_*_ref (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) or its fp16/bf16 row converters. Quantizing every F32 tensor
// of llama-gqa.gguf with the type table's quant must reproduce the quantized files' tensor bytes exactly.
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "format/gguf.h"
#include "tensor/dtype.h"
#include "test_support.h"

namespace pocket {
namespace {

namespace fs = std::filesystem;

fs::path model_path(const std::string& name) {
  return fs::path(testing::shared_dir()) / "reference" / "models" / (name + ".gguf");
}

class QuantGoldenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(QuantGoldenTest, ReproducesLlamaQuantizeBytes) {
  const std::string type_name = GetParam();
  const DTypeInfo* type = dtype_by_name(type_name);
  ASSERT_NE(type, nullptr);
  ASSERT_NE(type->quant, nullptr);
  auto source = GgufFile::open(model_path("llama-gqa").string());
  ASSERT_TRUE(source.ok()) << source.status().message();
  auto quantized = GgufFile::open(model_path("llama-gqa-" + type_name).string());
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();

  int compared = 0;
  for (const GgufTensorInfo& q : quantized->tensors()) {
    SCOPED_TRACE(type_name + " " + q.name);
    const GgufTensorInfo* f = source->find_tensor(q.name);
    ASSERT_NE(f, nullptr) << "not in llama-gqa.gguf";
    ASSERT_STREQ(f->dtype->name, "F32");
    ASSERT_EQ(f->shape, q.shape);
    if (q.dtype != type) {
      EXPECT_STREQ(q.dtype->name, "F32") << "only 1-d tensors stay F32 under --pure";
      continue;
    }
    const std::span<const uint8_t> src = source->tensor_bytes(*f);
    const auto n = static_cast<int64_t>(f->n_elements);
    std::vector<float> values(static_cast<size_t>(n));
    std::memcpy(values.data(), src.data(), src.size());
    std::vector<uint8_t> ours(static_cast<size_t>(row_bytes(*type, n)));
    type->quant(values.data(), ours.data(), n);
    const std::span<const uint8_t> theirs = quantized->tensor_bytes(q);
    ASSERT_EQ(ours.size(), theirs.size());
    size_t first_diff = ours.size();
    size_t n_diff = 0;
    for (size_t i = 0; i < ours.size(); ++i) {
      if (ours[i] != theirs[i]) {
        if (n_diff++ == 0) first_diff = i;
      }
    }
    EXPECT_EQ(n_diff, 0u) << "bytes differ; first at byte " << first_diff << " (block "
                          << first_diff / static_cast<size_t>(type->block_bytes) << ")";
    ++compared;
  }
  EXPECT_GE(compared, 16) << "quantized weight matrices compared";
}

INSTANTIATE_TEST_SUITE_P(Types, QuantGoldenTest,
                         ::testing::Values("Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "F16", "BF16"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

}  // namespace
}  // namespace pocket
