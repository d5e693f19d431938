// Which tensor gets which type: llama.cpp's mixture rules (llama-quant.cpp) on llama-like tensor lists.
#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "quant/recipe.h"
#include "tensor/dtype.h"

namespace pocket::quant {
namespace {

// A llama-style model: n_layer blocks of attention + FFN with row length n_embd, optional output.weight.
std::vector<TensorDesc> llama_tensors(int n_layer, int64_t n_embd, int64_t n_ff, bool with_output) {
  std::vector<TensorDesc> t;
  t.push_back({"token_embd.weight", {n_embd, 32000}, DType::kF16});
  t.push_back({"output_norm.weight", {n_embd}, DType::kF32});
  if (with_output) t.push_back({"output.weight", {n_embd, 32000}, DType::kF16});
  for (int i = 0; i < n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    for (const char* name : {"attn_q", "attn_k", "attn_v", "attn_output"}) {
      t.push_back({b + name + ".weight", {n_embd, n_embd}, DType::kF16});
    }
    t.push_back({b + "attn_norm.weight", {n_embd}, DType::kF32});
    t.push_back({b + "ffn_gate.weight", {n_embd, n_ff}, DType::kF16});
    t.push_back({b + "ffn_up.weight", {n_embd, n_ff}, DType::kF16});
    t.push_back({b + "ffn_down.weight", {n_ff, n_embd}, DType::kF16});
    t.push_back({b + "ffn_norm.weight", {n_embd}, DType::kF32});
  }
  std::stable_sort(t.begin(), t.end(), [](const TensorDesc& a, const TensorDesc& b) {
    return llama_tensor_order(a.name, b.name);
  });
  return t;
}

std::map<std::string, std::string> plan(const ModelShape& m, const std::vector<TensorDesc>& t, const char* ftype,
                                        bool pure = false, std::vector<std::string> overrides = {},
                                        int* n_fallback = nullptr) {
  RecipeOptions options;
  options.file_type = file_type_by_name(ftype);
  EXPECT_NE(options.file_type, nullptr) << ftype;
  options.pure = pure;
  for (const auto& spec : overrides) {
    auto o = parse_type_override(spec);
    EXPECT_TRUE(o.ok()) << o.status().message();
    options.overrides.push_back(*o);
  }
  const std::vector<DType> types = plan_tensor_types(m, t, options, n_fallback);
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < t.size(); ++i) out[t[i].name] = dtype_info(types[i]).name;
  return out;
}

ModelShape llama_shape(int n_layer, int n_head, int n_head_kv) { return ModelShape{"llama", n_layer, n_head, n_head_kv, 0}; }

bool more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

TEST(Recipe, Q4_K_M_On32Layers) {
  auto types = plan(llama_shape(32, 32, 8), llama_tensors(32, 4096, 11008, true), "Q4_K_M");
  EXPECT_EQ(types["output.weight"], "Q6_K");
  EXPECT_EQ(types["token_embd.weight"], "Q4_K");
  EXPECT_EQ(types["output_norm.weight"], "F32");
  int n_q6 = 0;
  for (int i = 0; i < 32; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    SCOPED_TRACE(b);
    const char* more = more_bits(i, 32) ? "Q6_K" : "Q4_K";
    EXPECT_EQ(types[b + "attn_v.weight"], more);
    EXPECT_EQ(types[b + "ffn_down.weight"], more);
    n_q6 += more_bits(i, 32);
    for (const char* name : {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"}) {
      EXPECT_EQ(types[b + name + ".weight"], "Q4_K") << name;
    }
    EXPECT_EQ(types[b + "attn_norm.weight"], "F32");
    EXPECT_EQ(types[b + "ffn_norm.weight"], "F32");
  }
  // Layers 0-3, 28-31 and every third in between (6, 9, ..., 27): 16 of 32.
  EXPECT_EQ(n_q6, 16);
  EXPECT_EQ(types["blk.0.attn_v.weight"], "Q6_K");
  EXPECT_EQ(types["blk.4.attn_v.weight"], "Q4_K");
  EXPECT_EQ(types["blk.6.ffn_down.weight"], "Q6_K");
}

TEST(Recipe, TiedEmbeddingsGetTheOutputType) {
  auto types = plan(llama_shape(4, 8, 8), llama_tensors(4, 256, 512, false), "Q4_K_M");
  EXPECT_EQ(types["token_embd.weight"], "Q6_K");
  types = plan(llama_shape(4, 8, 8), llama_tensors(4, 256, 512, false), "Q8_0");
  EXPECT_EQ(types["token_embd.weight"], "Q8_0");
}

TEST(Recipe, Q2_K_And_Q3_K_M) {
  auto t = llama_tensors(16, 4096, 11008, true);
  auto q2 = plan(llama_shape(16, 32, 32), t, "Q2_K");
  EXPECT_EQ(q2["blk.3.attn_v.weight"], "Q3_K");
  EXPECT_EQ(q2["blk.3.ffn_down.weight"], "Q3_K");
  EXPECT_EQ(q2["blk.3.attn_output.weight"], "Q3_K");
  EXPECT_EQ(q2["blk.3.attn_q.weight"], "Q2_K");
  EXPECT_EQ(q2["output.weight"], "Q6_K");
  EXPECT_EQ(plan(llama_shape(16, 32, 8), t, "Q2_K")["blk.3.attn_v.weight"], "Q4_K") << "n_gqa >= 4";
  auto q3 = plan(llama_shape(16, 32, 32), t, "Q3_K_M");
  EXPECT_EQ(q3["blk.0.attn_v.weight"], "Q5_K");
  EXPECT_EQ(q3["blk.1.attn_v.weight"], "Q5_K");
  EXPECT_EQ(q3["blk.2.attn_v.weight"], "Q4_K");
  EXPECT_EQ(q3["blk.0.ffn_down.weight"], "Q5_K");  // i < n_layer / 16
  EXPECT_EQ(q3["blk.1.ffn_down.weight"], "Q4_K");
  EXPECT_EQ(q3["blk.1.attn_output.weight"], "Q4_K");
  EXPECT_EQ(q3["blk.1.ffn_up.weight"], "Q3_K");
  auto q3l = plan(llama_shape(16, 32, 32), t, "Q3_K_L");
  EXPECT_EQ(q3l["blk.9.attn_v.weight"], "Q5_K");
  EXPECT_EQ(q3l["blk.9.ffn_down.weight"], "Q5_K");
  auto q4s = plan(llama_shape(16, 32, 32), t, "Q4_K_S");
  EXPECT_EQ(q4s["blk.3.attn_v.weight"], "Q5_K");
  EXPECT_EQ(q4s["blk.4.attn_v.weight"], "Q4_K");
  EXPECT_EQ(q4s["blk.1.ffn_down.weight"], "Q5_K");
  EXPECT_EQ(q4s["blk.2.ffn_down.weight"], "Q4_K");
}

TEST(Recipe, PureAndOverrides) {
  auto t = llama_tensors(8, 4096, 11008, true);
  auto pure = plan(llama_shape(8, 32, 8), t, "Q4_K_M", true);
  for (const auto& [name, type] : pure) {
    const bool norm = name.find("_norm") != std::string::npos;
    EXPECT_EQ(type, norm ? "F32" : "Q4_K") << name;
  }
  auto o = plan(llama_shape(8, 32, 8), t, "Q4_K_M", false, {"attn_(q|k)=q8_0", "blk\\.7\\..*=Q5_K"});
  EXPECT_EQ(o["blk.0.attn_q.weight"], "Q8_0");
  EXPECT_EQ(o["blk.7.attn_k.weight"], "Q8_0") << "first matching override wins";
  EXPECT_EQ(o["blk.7.ffn_up.weight"], "Q5_K");
  EXPECT_EQ(o["blk.7.attn_norm.weight"], "F32") << "overrides never quantize norms";
  EXPECT_EQ(o["output.weight"], "Q6_K");
  // F16 is not a quantized file type: no recipe, no overrides.
  auto f16 = plan(llama_shape(8, 32, 8), t, "F16", false, {"attn_q=Q8_0"});
  EXPECT_EQ(f16["blk.0.attn_q.weight"], "F16");
  EXPECT_EQ(f16["output.weight"], "F16");
}

TEST(Recipe, FallbackWhenRowsAreNotMultiplesOf256) {
  int n_fallback = 0;
  auto types = plan(llama_shape(4, 9, 9), llama_tensors(4, 288, 768, true), "Q4_K_M", false, {}, &n_fallback);
  EXPECT_EQ(types["output.weight"], "Q8_0");
  EXPECT_EQ(types["blk.1.attn_q.weight"], "Q5_0");  // Q4_K -> Q5_0
  EXPECT_EQ(types["blk.0.attn_v.weight"], "Q5_0");  // Q4_K -> Q5_0
  EXPECT_EQ(types["blk.3.attn_v.weight"], "Q8_0");  // more bits: Q6_K -> Q8_0
  EXPECT_EQ(types["blk.3.ffn_down.weight"], "Q6_K");  // ffn_down rows are 768 = 3 x 256: Q6_K fits
  EXPECT_GT(n_fallback, 0);
  auto odd = plan(llama_shape(1, 1, 1), {{"blk.0.attn_q.weight", {100, 8}, DType::kF32}}, "Q4_0");
  EXPECT_EQ(odd["blk.0.attn_q.weight"], "F16");
}

TEST(Recipe, FileTypeNames) {
  ASSERT_NE(file_type_by_name("q4_k_m"), nullptr);
  EXPECT_EQ(file_type_by_name("Q4_K_M")->id, 15u);
  EXPECT_EQ(file_type_by_name("Q4_K")->id, 15u) << "llama-quantize alias";
  EXPECT_EQ(file_type_by_name("Q8_0")->id, 7u);
  EXPECT_EQ(file_type_by_name("BF16")->id, 32u);
  EXPECT_EQ(file_type_by_name("IQ4_NL")->id, 25u);
  EXPECT_EQ(file_type_by_name("Q4_K_S")->id, 14u);
  EXPECT_EQ(file_type_by_name("Q7_K"), nullptr);
  EXPECT_EQ(file_type_by_name(""), nullptr);
  for (const auto& f : all_file_types()) EXPECT_NE(dtype_info(f.default_type).quant, nullptr) << f.name;
}

TEST(Recipe, BadOverrides) {
  for (const char* spec : {"attn_q", "=Q8_0", "attn_q=", "attn_q=Q9_9", "attn_q=Q8_K_X", "([=Q8_0", "x=IQ2_XXS"}) {
    auto o = parse_type_override(spec);
    ASSERT_FALSE(o.ok()) << spec;
    EXPECT_EQ(o.status().exit_code(), 2);
    EXPECT_NE(o.status().message().find("--tensor-type"), std::string::npos) << o.status().message();
  }
}

// Hostile weights (NaN, inf, huge, tiny, all zero) never crash a quantizer and dequantize to finite values where
// the input was finite and all zero blocks stay zero.
TEST(Quantizers, HostileValuesDoNotCrash) {
  std::vector<float> x(512);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37) % 101) - 50.0f;
  x[3] = std::numeric_limits<float>::quiet_NaN();
  x[40] = std::numeric_limits<float>::infinity();
  x[77] = -3e38f;
  x[300] = 1e-30f;
  std::vector<float> zeros(256, 0.0f);
  for (const char* name : {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"}) {
    SCOPED_TRACE(name);
    const DTypeInfo& t = *dtype_by_name(name);
    std::vector<uint8_t> q(static_cast<size_t>(row_bytes(t, 512)));
    std::vector<float> back(512);
    t.quant(x.data(), q.data(), 512);
    t.dequant(q.data(), back.data(), 512);
    t.quant(zeros.data(), q.data(), 256);
    t.dequant(q.data(), back.data(), 256);
    for (int i = 0; i < 256; ++i) EXPECT_EQ(back[i], 0.0f) << i;
  }
}

}  // namespace
}  // namespace pocket::quant
