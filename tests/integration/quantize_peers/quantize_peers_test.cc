// Quantization quality against llama.cpp (issue 9): the KL divergence of pocket's Q8_0 and Q4_K_M files against
// the F32 model, measured by `pocket perplexity --kl-divergence` on tinystory-eval.txt at -c 128, must be
// <= 1.05 x that of llama-quantize's files measured by llama-perplexity (figures recorded by
// tests/golden/perplexity/make_llama_figures.py: same text, context, window bound), for the embedded model and
// for the stories110m preset in F32 with the llama-spm vocabulary (random weights: the KLD is meaningful as a
// comparison). pocket's quantized files are byte for byte llama-quantize's (so the KLD ratio measures the two
// engines' quantized kernels). And the --kl-divergence-base file is llama.cpp's: llama-perplexity reads pocket's, pocket reads
// llama-perplexity's (run here; skipped with a message where that binary cannot run).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace pocket {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kMaxKldRatio = 1.05;

std::string shared(const std::string& rel) { return testing::shared_dir() + "/" + rel; }
std::string peer(const std::string& tool) { return shared("peers/llama.cpp/" + tool); }
std::string text() { return shared("text/tinystory-eval.txt"); }
std::string tiny_stories() { return shared("models/tiny-stories/tiny-stories.gguf"); }

std::string sha256(const std::string& file) {
  auto r = testing::run_command("sha256sum " + file);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.substr(0, 64);
}

json llama_figures() {
  std::ifstream in(POCKET_PPL_FIGURES);
  return json::parse(in);
}

class QuantizePeers : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pocket-quantize-peers-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  testing::CommandResult pocket(const std::string& args) {
    auto r = testing::run_command(testing::pocket_bin() + " " + args);
    EXPECT_EQ(r.exit_code, 0) << "pocket " << args << "\n" << r.err;
    return r;
  }

  // Saves the F32 model's base log-probabilities (at most `chunks` windows, < 0: all); returns the file.
  std::string save_base(const std::string& model, int chunks) {
    const std::string base = path(fs::path(model).stem().string() + ".kld");
    pocket("perplexity -m " + model + " -f " + text() + " -c 128 -b 128 --threads 2 --kl-divergence-base " + base +
           (chunks >= 0 ? " --chunks " + std::to_string(chunks) : ""));
    return base;
  }
  json pocket_kld(const std::string& model, const std::string& base) {
    auto r = pocket("perplexity -m " + model + " --kl-divergence-base " + base + " --kl-divergence --json --threads 2");
    return r.exit_code == 0 ? json::parse(r.out) : json::object();
  }

  // Quantizes `f32` to Q8_0 and Q4_K_M with pocket and compares KLDs with llama.cpp's recorded ones.
  void compare_klds(const std::string& name, const std::string& f32, const json& theirs) {
    const std::string base = save_base(f32, theirs["chunks"].get<int>());
    for (const char* type : {"Q8_0", "Q4_K_M"}) {
      SCOPED_TRACE(name + " " + type);
      const std::string q = path(name + "-" + type + ".gguf");
      pocket("quantize " + f32 + " " + q + " " + type + " --threads 2");
      // The same bytes as llama-quantize's file (metadata order included), whose KLD llama.cpp measured.
      EXPECT_EQ(sha256(q), theirs[type]["llama_quantize_sha256"].get<std::string>())
          << "pocket's file differs from llama-quantize " << theirs[type]["llama_quantize_args"].dump();
      const json ours = pocket_kld(q, base);
      ASSERT_TRUE(ours.contains("kld"));
      const double kld = ours["kld"].get<double>();
      const double llama = theirs[type]["kld"].get<double>();
      EXPECT_GT(kld, 0.0);
      EXPECT_LE(kld, kMaxKldRatio * llama) << "pocket's KLD " << kld << ", llama.cpp's " << llama;
      std::cout << name << " " << type << ": KLD pocket " << kld << " (top-1 " << ours["top1_agreement"]
                << "), llama.cpp " << llama << " (top-1 " << theirs[type]["top1_agreement"] << "), ratio "
                << kld / llama << "\n";
    }
  }

  fs::path dir_;
};

TEST_F(QuantizePeers, EmbeddedModelKldWithinLlamaQuantize) {
  const json figures = llama_figures();
  compare_klds("tiny-stories", tiny_stories(), figures["kld"]["tiny-stories"]);
}

TEST_F(QuantizePeers, Stories110mKldWithinLlamaQuantize) {
  const json figures = llama_figures();
  const std::string f32 = path("stories110m-f32.gguf");
  pocket("synth --arch llama --preset stories110m --type f32 --vocab " + shared("vocab/ggml-vocab-llama-spm.gguf") +
         " -o " + f32);
  ASSERT_EQ(sha256(f32), figures["stories110m_sha256"].get<std::string>())
      << "pocket synth made another stories110m model than the one llama.cpp's figures were recorded with: "
         "re-run tests/golden/perplexity/make_llama_figures.py";
  compare_klds("stories110m", f32, figures["kld"]["stories110m"]);
}

// llama-perplexity's "Mean    KLD: x ± e" and "Same top p: y ± f %"; retried because llama.cpp's asynchronous
// logger can lose its tail at exit on a loaded machine. Empty when the binary cannot run.
std::pair<double, double> llama_kld(const std::string& model, const std::string& base) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto r = testing::run_command(peer("llama-perplexity") + " -m " + model + " -c 128 -b 128 -t 1 "
                                  "--kl-divergence-base " + base + " --kl-divergence");
    if (r.exit_code != 0) return {-1, -1};
    std::smatch kld, top;
    const std::string log = r.out + r.err;
    if (std::regex_search(log, kld, std::regex(R"(Mean    KLD:\s+(-?[0-9.]+))")) &&
        std::regex_search(log, top, std::regex(R"(Same top p:\s+([0-9.]+))"))) {
      return {std::stod(kld[1]), std::stod(top[1]) / 100.0};
    }
  }
  return {-2, -2};
}

TEST_F(QuantizePeers, BaseLogitsFileIsLlamaCppsFormat) {
  auto probe = testing::run_command(peer("llama-perplexity") + " --version");
  if (probe.exit_code != 0) GTEST_SKIP() << peer("llama-perplexity") << " cannot run here (exit " << probe.exit_code
                                         << ")";
  // pocket's file, read by llama-perplexity with the same F32 model: the two engines agree, so KLD ≈ 0.
  const std::string ours = save_base(tiny_stories(), 12);
  const auto [kld, top] = llama_kld(tiny_stories(), ours);
  ASSERT_GE(kld, -1e-6) << "llama-perplexity could not read pocket's base file";
  EXPECT_LT(kld, 1e-4);
  EXPECT_GE(top, 0.99);

  // llama-perplexity's file, read by pocket.
  const std::string theirs = path("llama.kld");
  auto r = testing::run_command(peer("llama-perplexity") + " -m " + tiny_stories() + " -f " + text() +
                                " -c 128 -b 128 -t 1 --chunks 12 --kl-divergence-base " + theirs);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(fs::file_size(theirs), fs::file_size(ours)) << "same header, tokens and rows";
  const size_t head = 8 + 12 + 4 * 12 * 128;  // magic, n_ctx/n_vocab/n_chunk, tokens: byte-identical
  EXPECT_EQ(testing::read_file(theirs).substr(0, head), testing::read_file(ours).substr(0, head));
  const json back = pocket_kld(tiny_stories(), theirs);
  ASSERT_TRUE(back.contains("kld"));
  EXPECT_LT(std::abs(back["kld"].get<double>()), 1e-4);
  EXPECT_GE(back["top1_agreement"].get<double>(), 0.99);
  EXPECT_EQ(back["n_chunks"], 12);
}

}  // namespace
}  // namespace pocket
