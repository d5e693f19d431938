#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "model/model.h"

namespace pocket {
namespace {

constexpr int kEmbd = 8, kHeads = 2, kHeadsKv = 1, kFf = 16, kCtx = 8, kVocab = 10;

// A tiny llama: n_embd 8, 2 heads of 4, 1 KV head, n_ff 16, 1 layer, vocabulary 10, context 8, f32 weights.
struct TinyModelSpec {
  std::string arch = "llama";
  std::map<std::string, std::vector<int64_t>> shape_override;  // name -> shape
  std::vector<std::string> omit;                               // tensors left out
  int vocab_tokens = kVocab;                                   // length of tokenizer.ggml.tokens
};

std::vector<uint8_t> build_model(const TinyModelSpec& spec) {
  GgufWriter w;
  w.set_string("general.architecture", spec.arch);
  const std::string a = spec.arch;
  w.set_u32(a + ".embedding_length", kEmbd);
  w.set_u32(a + ".block_count", 1);
  w.set_u32(a + ".attention.head_count", kHeads);
  w.set_u32(a + ".attention.head_count_kv", kHeadsKv);
  w.set_u32(a + ".feed_forward_length", kFf);
  w.set_u32(a + ".context_length", kCtx);
  w.set_f32(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
  std::vector<std::string> tokens;
  for (int i = 0; i < spec.vocab_tokens; ++i) tokens.push_back("t" + std::to_string(i));
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  const int hd = kEmbd / kHeads;
  std::vector<std::pair<std::string, std::vector<int64_t>>> tensors = {
      {"token_embd.weight", {kEmbd, kVocab}},       {"output_norm.weight", {kEmbd}},
      {"output.weight", {kEmbd, kVocab}},           {"blk.0.attn_norm.weight", {kEmbd}},
      {"blk.0.attn_q.weight", {kEmbd, kEmbd}},      {"blk.0.attn_k.weight", {kEmbd, kHeadsKv * hd}},
      {"blk.0.attn_v.weight", {kEmbd, kHeadsKv * hd}}, {"blk.0.attn_output.weight", {kEmbd, kEmbd}},
      {"blk.0.ffn_norm.weight", {kEmbd}},           {"blk.0.ffn_gate.weight", {kEmbd, kFf}},
      {"blk.0.ffn_up.weight", {kEmbd, kFf}},        {"blk.0.ffn_down.weight", {kFf, kEmbd}},
  };
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
  for (auto& [name, shape] : tensors) {
    if (std::find(spec.omit.begin(), spec.omit.end(), name) != spec.omit.end()) continue;
    if (auto it = spec.shape_override.find(name); it != spec.shape_override.end()) shape = it->second;
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> values(n);
    for (auto& v : values) v = name.find("norm") != std::string::npos ? 1.0f + dist(rng) * 0.1f : dist(rng);
    std::vector<uint8_t> bytes(n * 4);
    std::memcpy(bytes.data(), values.data(), bytes.size());
    EXPECT_TRUE(w.add_tensor(name, DType::kF32, shape, bytes).ok()) << name;
  }
  return w.to_bytes();
}

// Keeps the bytes alive for the model (GgufFile::from_bytes does not copy).
struct Loaded {
  std::vector<uint8_t> bytes;
  Result<std::shared_ptr<const Model>> model = bad_input("unset");
};

Loaded load(const TinyModelSpec& spec) {
  Loaded l;
  l.bytes = build_model(spec);
  auto file = GgufFile::from_bytes(l.bytes, "tiny.gguf");
  if (!file.ok()) {
    l.model = file.status();
    return l;
  }
  l.model = Model::load(std::move(file).value());
  return l;
}

TEST(ModelLoad, TinyLlamaLoads) {
  Loaded l = load({});
  ASSERT_TRUE(l.model.ok()) << l.model.status().message();
  const Model& m = **l.model;
  EXPECT_EQ(m.n_vocab(), kVocab);
  EXPECT_EQ(m.hparams().n_head_kv, kHeadsKv);
  EXPECT_EQ(m.hparams().head_dim_k, kEmbd / kHeads);
  EXPECT_FALSE(m.weights().tied_output);
}

TEST(ModelLoad, TiedOutputWhenOutputWeightAbsent) {
  TinyModelSpec spec;
  spec.omit = {"output.weight"};
  Loaded l = load(spec);
  ASSERT_TRUE(l.model.ok()) << l.model.status().message();
  EXPECT_TRUE((*l.model)->weights().tied_output);
}

TEST(ModelLoad, MissingTensorIsNamed) {
  TinyModelSpec spec;
  spec.omit = {"blk.0.attn_k.weight"};
  Loaded l = load(spec);
  ASSERT_FALSE(l.model.ok());
  EXPECT_EQ(l.model.status().kind(), ErrorKind::kBadInput);
  EXPECT_NE(l.model.status().message().find("tensor 'blk.0.attn_k.weight' is missing"), std::string::npos)
      << l.model.status().message();
}

TEST(ModelLoad, WrongShapeNamesExpectedAndActual) {
  TinyModelSpec spec;
  spec.shape_override["blk.0.attn_q.weight"] = {kEmbd, 6};
  Loaded l = load(spec);
  ASSERT_FALSE(l.model.ok());
  EXPECT_NE(l.model.status().message().find("'blk.0.attn_q.weight' has shape [8, 6], expected [8, 8]"),
            std::string::npos) << l.model.status().message();
}

TEST(ModelLoad, UnknownArchitecture) {
  TinyModelSpec spec;
  spec.arch = "mamba9";
  Loaded l = load(spec);
  ASSERT_FALSE(l.model.ok());
  EXPECT_NE(l.model.status().message().find("unknown architecture 'mamba9'"), std::string::npos)
      << l.model.status().message();
}

TEST(ModelLoad, EmbeddingRowsMustEqualVocabulary) {
  TinyModelSpec spec;
  spec.vocab_tokens = kVocab + 2;
  Loaded l = load(spec);
  ASSERT_FALSE(l.model.ok());
  EXPECT_NE(l.model.status().message().find("token_embd.weight' has 10 rows, expected the vocabulary size 12"),
            std::string::npos) << l.model.status().message();
}

TEST(ModelLoad, MissingHyperparameterKeyIsNamed) {
  GgufWriter w;
  w.set_string("general.architecture", "qwen3");
  auto bytes = w.to_bytes();
  auto file = GgufFile::from_bytes(bytes, "empty.gguf");
  ASSERT_TRUE(file.ok());
  auto model = Model::load(std::move(file).value());
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("qwen3.embedding_length"), std::string::npos) << model.status().message();
}

class TinyForward : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ = load({});
    ASSERT_TRUE(loaded_.model.ok()) << loaded_.model.status().message();
  }
  const Model& model() { return **loaded_.model; }
  Loaded loaded_;
};

TEST_F(TinyForward, TokenIdOutOfRange) {
  KvCache kv = model().make_cache(0, KvType::kF32);
  std::vector<float> logits;
  const std::vector<int32_t> tokens = {1, kVocab};
  Status s = model().forward(tokens, kv, {}, logits);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.kind(), ErrorKind::kBadInput);
  EXPECT_NE(s.message().find("token id 10 (at index 1) is out of range"), std::string::npos) << s.message();
  EXPECT_EQ(kv.n_past(), 0);
  const std::vector<int32_t> negative = {-1};
  EXPECT_FALSE(model().forward(negative, kv, {}, logits).ok());
}

TEST_F(TinyForward, ContextFullIsAClearError) {
  KvCache kv = model().make_cache(0, KvType::kF32);  // the model's context: 8
  EXPECT_EQ(kv.n_ctx(), kCtx);
  std::vector<float> logits;
  const std::vector<int32_t> seven = {1, 2, 3, 4, 5, 6, 7};
  ASSERT_TRUE(model().forward(seven, kv, {}, logits).ok());
  const std::vector<int32_t> two = {8, 9};
  Status s = model().forward(two, kv, {}, logits);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("context is full: 7 positions used + 2 new > context size 8"), std::string::npos)
      << s.message();
  EXPECT_EQ(kv.n_past(), 7);  // unchanged
  const std::vector<int32_t> one = {8};
  EXPECT_TRUE(model().forward(one, kv, {}, logits).ok());
  EXPECT_FALSE(model().forward(one, kv, {}, logits).ok());
}

// Prefill of n tokens must give the same last logits as prefill of n-1 then one decode step (the KV cache works).
TEST_F(TinyForward, DecodeMatchesPrefill) {
  const std::vector<int32_t> tokens = {1, 5, 3, 9, 2, 7};
  for (KvType type : {KvType::kF32, KvType::kF16}) {
    KvCache a = model().make_cache(0, type), b = model().make_cache(0, type);
    std::vector<float> full, step;
    ASSERT_TRUE(model().forward(tokens, a, {}, full).ok());
    ASSERT_TRUE(model().forward(std::span(tokens).first(tokens.size() - 1), b, {}, step).ok());
    ASSERT_TRUE(model().forward(std::span(tokens).last(1), b, {}, step).ok());
    ASSERT_EQ(full.size(), static_cast<size_t>(kVocab));
    for (int i = 0; i < kVocab; ++i) {
      EXPECT_TRUE(std::isfinite(full[i]));
      EXPECT_NEAR(full[i], step[i], 1e-4) << "vocab " << i << " kv " << kv_type_name(type);
    }
  }
}

// A batch of independent sequences (continuous batching) gives each sequence the logits it gets alone, and
// leaves each cache as a separate forward would.
TEST_F(TinyForward, BatchOfSequencesMatchesSeparateForwards) {
  const std::vector<int32_t> a_prompt = {1, 5, 3}, b_prompt = {2, 7}, a_next = {4}, b_next = {6, 8};
  for (KvType type : {KvType::kF32, KvType::kF16}) {
    KvCache a1 = model().make_cache(0, type), b1 = model().make_cache(0, type);
    KvCache a2 = model().make_cache(0, type), b2 = model().make_cache(0, type);
    std::vector<float> la, lb, batched;
    // Separate: prompts, then the next tokens.
    ASSERT_TRUE(model().forward(a_prompt, a1, {}, la).ok());
    ASSERT_TRUE(model().forward(b_prompt, b1, {}, lb).ok());
    ASSERT_TRUE(model().forward(a_next, a1, {}, la).ok());
    ASSERT_TRUE(model().forward(b_next, b1, {}, lb).ok());
    // Batched: both prompts in one pass, then both continuations in one pass (different positions per sequence).
    const std::vector<SequenceBatch> prompts = {{a_prompt, &a2}, {b_prompt, &b2}};
    ASSERT_TRUE(model().forward_batch(prompts, {}, batched).ok());
    ASSERT_EQ(batched.size(), static_cast<size_t>(2 * kVocab));
    const std::vector<SequenceBatch> next = {{a_next, &a2}, {b_next, &b2}};
    ASSERT_TRUE(model().forward_batch(next, {}, batched).ok());
    EXPECT_EQ(a2.n_past(), 4);
    EXPECT_EQ(b2.n_past(), 4);
    for (int i = 0; i < kVocab; ++i) {
      EXPECT_NEAR(batched[i], la[i], 1e-4) << "a, vocab " << i << " kv " << kv_type_name(type);
      EXPECT_NEAR(batched[kVocab + i], lb[i], 1e-4) << "b, vocab " << i << " kv " << kv_type_name(type);
    }
  }
}

TEST_F(TinyForward, BatchIsCheckedBeforeAnyCacheChanges) {
  KvCache a = model().make_cache(0, KvType::kF32), b = model().make_cache(0, KvType::kF32);
  std::vector<float> logits;
  const std::vector<int32_t> ok_tokens = {1, 2}, bad_tokens = {3, kVocab};
  const std::vector<SequenceBatch> bad = {{ok_tokens, &a}, {bad_tokens, &b}};
  EXPECT_FALSE(model().forward_batch(bad, {}, logits).ok());
  const std::vector<SequenceBatch> shared = {{ok_tokens, &a}, {ok_tokens, &a}};
  Status s = model().forward_batch(shared, {}, logits);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("share one KV cache"), std::string::npos) << s.message();
  EXPECT_EQ(a.n_past(), 0);
  EXPECT_EQ(b.n_past(), 0);
}

TEST_F(TinyForward, AllLogitsAndHookSeeNamedIntermediates) {
  KvCache kv = model().make_cache(0, KvType::kF32);
  std::vector<std::string> names;
  ForwardHook hook = [&](std::string_view name, int layer, const float*, int64_t n_tokens, int64_t width) {
    names.push_back(std::string(name) + "@" + std::to_string(layer));
    if (name == "Kcur") {
      EXPECT_EQ(width, kHeadsKv * kEmbd / kHeads);
      EXPECT_EQ(n_tokens, 3);
    }
  };
  ForwardOptions opt;
  opt.all_logits = true;
  opt.hook = &hook;
  std::vector<float> logits;
  const std::vector<int32_t> tokens = {1, 2, 3};
  ASSERT_TRUE(model().forward(tokens, kv, opt, logits).ok());
  EXPECT_EQ(logits.size(), static_cast<size_t>(3 * kVocab));
  for (const char* want : {"inp_embd@-1", "attn_norm@0", "Qcur@0", "kqv_out@0", "ffn_out@0", "l_out@0",
                           "result_norm@-1", "result_output@-1"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
}

TEST(ArchTable, EveryIssueFamilyIsARow) {
  for (const char* name : {"llama", "qwen2", "qwen3", "phi3", "gemma2", "gemma3"}) {
    EXPECT_NE(find_arch(name), nullptr) << name;
  }
  EXPECT_EQ(find_arch("gpt2"), nullptr);
  EXPECT_EQ(find_arch("llama")->rope_style, kernels::RopeStyle::kNormal);
  EXPECT_EQ(find_arch("qwen2")->rope_style, kernels::RopeStyle::kNeox);
}

}  // namespace
}  // namespace pocket
