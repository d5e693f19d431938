// src/engine/perplexity.h and kl_divergence.h: the saved-row encoding, the file's layout and validation, the
// statistics helpers, the windowing, and a model compared with its own saved log-probabilities (KLD 0, top-1
// agreement 1). Plus `pocket perplexity`'s bad-input exits.
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/kl_divergence.h"
#include "engine/perplexity.h"
#include "format/gguf.h"
#include "model/model.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

namespace pocket {
namespace {

namespace fs = std::filesystem;

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pocket-ppl-unit-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST(BaseRows, WidthIsLlamaCpps) {
  EXPECT_EQ(base_row_width(512), 516);
  EXPECT_EQ(base_row_width(511), 516);
  EXPECT_EQ(base_row_width(32000), 32004);
}

TEST(BaseRows, EncodeKeepsLogProbabilitiesWithinHalfAStep) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 4.0f);
  const int n = 301;  // odd: one padding uint16
  std::vector<float> logits(n);
  for (float& v : logits) v = dist(rng);
  std::vector<uint16_t> row(static_cast<size_t>(base_row_width(n)), 0xFFFF);
  const double nll = encode_log_probs(logits.data(), n, 17, row.data());
  float scale, min_log_prob;
  std::memcpy(&scale, row.data(), 4);
  std::memcpy(&min_log_prob, row.data() + 2, 4);
  double max = logits[0], sum = 0;
  for (float v : logits) max = std::max<double>(max, v);
  for (float v : logits) sum += std::exp(v - max);
  const double lse = max + std::log(sum);
  EXPECT_NEAR(nll, lse - logits[17], 1e-4);
  for (int i = 0; i < n; ++i) {
    const double truth = logits[i] - lse;
    if (truth < max - lse - 16) continue;  // clamped
    EXPECT_NEAR(scale * row[4 + i] + min_log_prob, truth, 0.5 * scale + 1e-5) << i;
  }
  EXPECT_EQ(row.back(), 0) << "padding";
}

TEST(Stats, MeanUncertaintyAndPercentiles) {
  const MeanErr m = mean_and_uncertainty(10.0, 30.0, 5);  // values with mean 2, E[x²] 6: var 2
  EXPECT_DOUBLE_EQ(m.mean, 2.0);
  EXPECT_NEAR(m.err, std::sqrt(2.0 / 4.0), 1e-12);
  EXPECT_EQ(mean_and_uncertainty(10.0, 30.0, 5, 10).err, 0.0);
  std::vector<float> v;
  for (int i = 100; i >= 0; --i) v.push_back(static_cast<float>(i));
  const Percentiles p = percentiles(v);
  EXPECT_FLOAT_EQ(p.median, 50);
  EXPECT_FLOAT_EQ(p.p90, 90);
  EXPECT_FLOAT_EQ(p.p99_9, 99.9f);
  EXPECT_FLOAT_EQ(p.max, 100);
  EXPECT_FLOAT_EQ(p.min, 0);
}

TEST(Windows, AsLlamaPerplexityCutsThem) {
  EXPECT_EQ(perplexity_chunks(15555, 128, -1), 121);
  EXPECT_EQ(perplexity_chunks(15555, 128, 8), 8);
  EXPECT_EQ(perplexity_chunks(255, 128, -1), 1);
}

TEST_F(TempDir, WriterAndReaderRoundTrip) {
  const int32_t n_ctx = 8, n_vocab = 5, n_chunk = 2;
  std::vector<int32_t> tokens(16);
  for (int i = 0; i < 16; ++i) tokens[i] = i % n_vocab;
  const std::string file = path("base.kld");
  {
    auto w = BaseLogitsWriter::create(file, n_ctx, n_vocab, n_chunk, tokens);
    ASSERT_TRUE(w.ok()) << w.status().message();
    const size_t rows = (n_ctx - 1 - n_ctx / 2) * base_row_width(n_vocab);
    for (int c = 0; c < n_chunk; ++c) {
      std::vector<uint16_t> data(rows, static_cast<uint16_t>(c + 1));
      ASSERT_TRUE((*w)->write_rows(data).ok());
    }
    ASSERT_TRUE((*w)->finish().ok());
  }
  EXPECT_EQ(fs::file_size(file), 8u + 12u + 4u * 16u + 2u * 2u * 3u * 10u);
  const std::string bytes = testing::read_file(file);
  EXPECT_EQ(bytes.substr(0, 8), "_logits_");
  auto r = BaseLogitsReader::open(file);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)->n_ctx(), n_ctx);
  EXPECT_EQ((*r)->n_vocab(), n_vocab);
  EXPECT_EQ((*r)->n_chunk(), n_chunk);
  EXPECT_EQ((*r)->tokens(), tokens);
  std::vector<uint16_t> rows;
  ASSERT_TRUE((*r)->read_rows(rows).ok());
  EXPECT_EQ(rows.front(), 1);
  ASSERT_TRUE((*r)->read_rows(rows).ok());
  EXPECT_EQ(rows.back(), 2);

  // Truncated, wrong magic, token out of range: bad input naming the file.
  std::ofstream(path("short.kld"), std::ios::binary) << bytes.substr(0, bytes.size() - 1);
  auto shorter = BaseLogitsReader::open(path("short.kld"));
  ASSERT_FALSE(shorter.ok());
  EXPECT_EQ(shorter.status().kind(), ErrorKind::kBadInput);
  EXPECT_NE(shorter.status().message().find("short.kld"), std::string::npos) << shorter.status().message();
  std::string bad = bytes;
  bad[0] = 'X';
  std::ofstream(path("magic.kld"), std::ios::binary) << bad;
  EXPECT_FALSE(BaseLogitsReader::open(path("magic.kld")).ok());
  bad = bytes;
  bad[20] = 9;  // first token 9 >= n_vocab 5
  std::ofstream(path("token.kld"), std::ios::binary) << bad;
  auto tok = BaseLogitsReader::open(path("token.kld"));
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find("outside the vocabulary"), std::string::npos) << tok.status().message();
  EXPECT_FALSE(BaseLogitsReader::open(path("missing.kld")).ok());
}

TEST_F(TempDir, ModelAgainstItsOwnBaseHasNoDivergence) {
  auto file = GgufFile::open(testing::shared_dir() + "/models/tiny-stories/tiny-stories.gguf");
  ASSERT_TRUE(file.ok()) << file.status().message();
  auto model = Model::load(std::move(file).value());
  ASSERT_TRUE(model.ok()) << model.status().message();
  // Real text: the saved rows clamp log-probabilities 16 nats below the maximum, so PPL(base) read back from
  // them equals the PPL only where the text's tokens are not that improbable.
  auto tok = Tokenizer::from_gguf((*model)->file());
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  std::vector<int32_t> tokens =
      tok->encode(testing::read_file(testing::shared_dir() + "/text/tinystory-eval.txt"), true, false);
  ASSERT_GE(tokens.size(), 100u);
  tokens.resize(100);
  PerplexityOptions o;
  o.n_ctx = 32;
  o.n_batch = 10;  // several forward calls per window
  o.n_threads = 2;
  const std::string base = path("self.kld");
  auto w = BaseLogitsWriter::create(base, 32, static_cast<int32_t>((*model)->n_vocab()), 3, tokens);
  ASSERT_TRUE(w.ok());
  auto ppl = compute_perplexity(**model, tokens, 1, o, w->get());
  ASSERT_TRUE(ppl.ok()) << ppl.status().message();
  EXPECT_EQ(ppl->n_chunks, 3);
  EXPECT_EQ(ppl->n_scored, 3 * 15);
  EXPECT_GT(ppl->ppl, 1.0);

  // One batch per window gives the same perplexity.
  o.n_batch = 2048;
  auto again = compute_perplexity(**model, tokens, 1, o);
  ASSERT_TRUE(again.ok());
  EXPECT_NEAR(again->ppl, ppl->ppl, 1e-3 * ppl->ppl);

  auto r = BaseLogitsReader::open(base);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto kl = compute_kl_divergence(**model, **r, 1, o);
  ASSERT_TRUE(kl.ok()) << kl.status().message();
  EXPECT_EQ(kl->count, 45);
  EXPECT_LT(std::fabs(kl->kld.mean), 1e-5);  // only the 16-bit rounding of the saved log-probabilities
  EXPECT_DOUBLE_EQ(kl->same_top.mean, 1.0);
  EXPECT_NEAR(kl->ppl.mean, ppl->ppl, 1e-3 * ppl->ppl);
  EXPECT_NEAR(kl->ppl_base.mean, ppl->ppl, 1e-3 * ppl->ppl);

  // Too little text: llama.cpp's 2 x n_ctx requirement, named.
  auto few = compute_perplexity(**model, std::span(tokens).first(40), 1, o);
  ASSERT_FALSE(few.ok());
  EXPECT_NE(few.status().message().find("needs at least 64"), std::string::npos) << few.status().message();
}

TEST(PerplexityCli, BadInputExits2) {
  const std::string bin = testing::pocket_bin();
  auto r = testing::run_command(bin + " perplexity --kl-divergence");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--kl-divergence-base"), std::string::npos) << r.err;
  r = testing::run_command(bin + " perplexity");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("-f"), std::string::npos) << r.err;
  r = testing::run_command(bin + " perplexity -f /nonexistent/text.txt");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent/text.txt"), std::string::npos) << r.err;
  r = testing::run_command(bin + " perplexity -f " + testing::shared_dir() + "/text/tinystory-eval.txt -c 100000");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("needs at least 200000"), std::string::npos) << r.err;
  r = testing::run_command(bin + " perplexity --kl-divergence-base /nonexistent.kld --kl-divergence");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent.kld"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace pocket
