// `pocket synth` and `pocket bench` (CLI.md "pocket bench, synth"): synthesized files have the shapes, types and
// vocabulary asked for, run through the forward pass with finite logits, are byte-identical for a seed, and are
// never silently overwritten; `pocket bench --json` has every CLI.md key with sane values.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace pocket {
namespace {

using nlohmann::json;
using testing::pocket_bin;
using testing::run_command;

class SynthBench : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("pocket-synth-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Runs `pocket synth ARGS -o path(name)`; returns the exit code (stderr shown on failure).
  int synth(const std::string& args, const std::string& name) {
    auto r = run_command(pocket_bin() + " synth " + args + " -o " + path(name));
    if (r.exit_code != 0) last_err_ = r.err;
    return r.exit_code;
  }
  json info(const std::string& name) {
    auto r = run_command(pocket_bin() + " info --json --tensors -m " + path(name));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json();
  }
  std::map<std::string, json> tensors(const json& info) {
    std::map<std::string, json> m;
    for (const auto& t : info["tensors"]) m[t["name"].get<std::string>()] = t;
    return m;
  }
  void expect_finite_logits(const std::string& name) {
    auto r = run_command(pocket_bin() + " logits --json --top 5 --tokens '1 5 9 200 7' -m " + path(name));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    ASSERT_EQ(j["positions"].size(), 5u);
    for (const auto& pos : j["positions"]) {
      double lse = pos["logsumexp"].get<double>();
      EXPECT_TRUE(std::isfinite(lse)) << name;
      for (const auto& pair : pos["top"]) EXPECT_TRUE(std::isfinite(pair[1].get<double>())) << name;
    }
  }

  std::filesystem::path dir_;
  std::string last_err_;
};

constexpr const char* kDims = "--arch llama --dims 64,2,4,2,128,512";

TEST_F(SynthBench, LlamaF32AndQ8_0HaveTheShapesTypesAndVocabAskedFor) {
  for (const std::string type : {"F32", "Q8_0"}) {
    SCOPED_TRACE(type);
    ASSERT_EQ(synth(std::string(kDims) + " --type " + type, type + ".gguf"), 0) << last_err_;
    json j = info(type + ".gguf");
    EXPECT_EQ(j["architecture"], "llama");
    EXPECT_EQ(j["n_embd"], 64);
    EXPECT_EQ(j["n_layer"], 2);
    EXPECT_EQ(j["n_head"], 4);
    EXPECT_EQ(j["n_head_kv"], 2);
    EXPECT_EQ(j["n_ff"], 128);
    EXPECT_EQ(j["vocab_size"], 512);  // the embedded model's tokenizer (its vocabulary fits)
    EXPECT_EQ(j["tokenizer_model"], "llama");
    EXPECT_EQ(j["n_tensors"], 2 + 2 * 9);  // token_embd, output_norm (tied output), 9 per block
    auto t = tensors(j);
    EXPECT_EQ(t["token_embd.weight"]["shape"], json::array({64, 512}));
    EXPECT_EQ(t["token_embd.weight"]["type"], type);
    EXPECT_EQ(t["blk.1.attn_q.weight"]["shape"], json::array({64, 64}));
    EXPECT_EQ(t["blk.1.attn_k.weight"]["shape"], json::array({64, 32}));  // 2 kv heads x 16
    EXPECT_EQ(t["blk.1.attn_v.weight"]["type"], type);
    EXPECT_EQ(t["blk.0.ffn_gate.weight"]["shape"], json::array({64, 128}));
    EXPECT_EQ(t["blk.0.ffn_down.weight"]["shape"], json::array({128, 64}));
    EXPECT_EQ(t["blk.0.attn_norm.weight"]["type"], "F32");
    EXPECT_EQ(t["output_norm.weight"]["shape"], json::array({64}));
    EXPECT_EQ(t.count("output.weight"), 0u);
    expect_finite_logits(type + ".gguf");
  }
}

TEST_F(SynthBench, OtherArchitecturesRun) {
  for (const std::string arch : {"qwen2", "qwen3", "phi3", "gemma2", "gemma3"}) {
    SCOPED_TRACE(arch);
    ASSERT_EQ(synth("--arch " + arch + " --dims 64,2,4,2,128,512 --type Q8_0", arch + ".gguf"), 0) << last_err_;
    EXPECT_EQ(info(arch + ".gguf")["architecture"], arch);
    expect_finite_logits(arch + ".gguf");
  }
}

TEST_F(SynthBench, SameSeedSameBytesAndNoSilentOverwrite) {
  ASSERT_EQ(synth(std::string(kDims) + " --type Q4_0 --seed 7", "a.gguf"), 0) << last_err_;
  ASSERT_EQ(synth(std::string(kDims) + " --type Q4_0 --seed 7", "b.gguf"), 0) << last_err_;
  ASSERT_EQ(synth(std::string(kDims) + " --type Q4_0 --seed 8", "c.gguf"), 0) << last_err_;
  std::string a = testing::read_file(path("a.gguf"));
  EXPECT_GT(a.size(), 10000u);
  EXPECT_EQ(a, testing::read_file(path("b.gguf")));
  EXPECT_NE(a, testing::read_file(path("c.gguf")));

  auto r = run_command(pocket_bin() + " synth " + kDims + " --type Q4_0 --seed 8 -o " + path("a.gguf"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EQ(testing::read_file(path("a.gguf")), a);
  ASSERT_EQ(synth(std::string(kDims) + " --type Q4_0 --seed 8 --force", "a.gguf"), 0) << last_err_;
  EXPECT_EQ(testing::read_file(path("a.gguf")), testing::read_file(path("c.gguf")));
}

TEST_F(SynthBench, VocabFromFileOrPlaceholders) {
  std::string spm = testing::shared_dir() + "/vocab/ggml-vocab-llama-spm.gguf";
  ASSERT_EQ(synth("--arch llama --dims 32,1,2,2,64,512 --type F16 --vocab " + spm, "spm.gguf"), 0) << last_err_;
  json j = info("spm.gguf");
  EXPECT_EQ(j["vocab_size"], 32000);
  EXPECT_EQ(tensors(j)["token_embd.weight"]["shape"], json::array({32, 32000}));
  expect_finite_logits("spm.gguf");

  ASSERT_EQ(synth("--arch llama --dims 32,1,2,2,64,700 --type Q8_0", "ph.gguf"), 0) << last_err_;
  j = info("ph.gguf");
  EXPECT_EQ(j["vocab_size"], 700);
  EXPECT_EQ(j["tokenizer_model"], "llama");
  auto r = run_command(pocket_bin() + " tokenize --ids -m " + path("ph.gguf"), "hi there");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
  expect_finite_logits("ph.gguf");
}

TEST_F(SynthBench, BadArgumentsAreExitCode2) {
  EXPECT_EQ(synth("--arch nope --dims 64,2,4,2,128,512 --type F32", "x.gguf"), 2);
  EXPECT_EQ(synth("--arch llama --dims 64,2,4 --type F32", "x.gguf"), 2);
  EXPECT_EQ(synth("--arch llama --dims 64,2,4,3,128,512 --type F32", "x.gguf"), 2);  // 3 does not divide 4
  EXPECT_EQ(synth("--preset nope --type F32", "x.gguf"), 2);
  EXPECT_EQ(synth(std::string(kDims) + " --type Q9_9", "x.gguf"), 2);
  EXPECT_FALSE(std::filesystem::exists(path("x.gguf")));
}

TEST_F(SynthBench, BenchJsonHasEveryCliKeyWithSaneValues) {
  auto r = run_command(pocket_bin() + " bench -p 16 -n 8 -r 2 -t 2 --json --cost-per-hour 0.5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_NE(j["model"].get<std::string>().find("embedded"), std::string::npos);
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["n_params"], 260032);
  EXPECT_EQ(j["file_size"], 1054528);
  for (const char* k : {"pp", "tg"}) {
    SCOPED_TRACE(k);
    const json& s = j[k];
    EXPECT_EQ(s["n_tokens"], std::string(k) == "pp" ? 16 : 8);
    double lo = s["min_tps"], med = s["median_tps"], hi = s["max_tps"];
    EXPECT_GT(lo, 0);
    EXPECT_LE(lo, med);
    EXPECT_LE(med, hi);
  }
  EXPECT_GE(j["load_s"].get<double>(), 0);
  EXPECT_GE(j["repack_s"].get<double>(), 0);  // F32 is not repacked: ~0
  EXPECT_LE(j["repack_s"].get<double>(), j["load_s"].get<double>());
  EXPECT_GT(j["ttft_ms"].get<double>(), 0);
  EXPECT_GT(j["peak_rss_bytes"].get<int64_t>(), 1 << 20);
  ASSERT_TRUE(j["simd"].is_object());
  EXPECT_TRUE(j["simd"].contains("F32"));
  const json& rf = j["roofline"];
  for (const char* k : {"bandwidth_gbs", "int8_peak_gops", "f32_peak_gflops", "decode_pct_of_bandwidth",
                        "prefill_pct_of_peak"}) {
    SCOPED_TRACE(k);
    ASSERT_TRUE(rf.contains(k));
    EXPECT_GT(rf[k].get<double>(), 0);
  }
  EXPECT_LT(rf["decode_pct_of_bandwidth"].get<double>(), 1000);  // a tiny model may beat DRAM (it is cached)
  EXPECT_LT(rf["prefill_pct_of_peak"].get<double>(), 100);
  double pp = j["pp"]["median_tps"], tg = j["tg"]["median_tps"];
  EXPECT_NEAR(j["cost"]["input_usd_per_1m"].get<double>(), 0.5 / (pp * 3600) * 1e6, 1e-9);
  EXPECT_NEAR(j["cost"]["output_usd_per_1m"].get<double>(), 0.5 / (tg * 3600) * 1e6, 1e-9);
}

TEST_F(SynthBench, BenchOnASynthesizedQuantizedModel) {
  ASSERT_EQ(synth(std::string(kDims) + " --type Q8_0", "q8.gguf"), 0) << last_err_;
  auto r = run_command(pocket_bin() + " bench -p 8 -n 4 -r 1 -t 1 --json -m " + path("q8.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["threads"], 1);
  EXPECT_TRUE(j["simd"].contains("Q8_0"));
  EXPECT_GT(j["tg"]["median_tps"].get<double>(), 0);
  if (j["active_target"] == "avx512") {  // Q8_0 is repacked into 16-row strips at load: a measurable part of it
    EXPECT_GT(j["repack_s"].get<double>(), 0);
    EXPECT_LT(j["repack_s"].get<double>(), j["load_s"].get<double>());
  }
  EXPECT_EQ(run_command(pocket_bin() + " bench -r 0 -m " + path("q8.gguf")).exit_code, 2);
}

}  // namespace
}  // namespace pocket
