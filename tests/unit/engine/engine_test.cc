#include <atomic>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "embedded_model.h"
#include "engine/generator.h"
#include "engine/session.h"
#include "tokenizer/tokenizer.h"

namespace pocket {
namespace {

TEST(StopStringFilter, HoldsBackPossibleStopPrefixes) {
  StopStringFilter f({"world"});
  EXPECT_EQ(f.push("Hel"), "Hel");
  EXPECT_EQ(f.push("lo wor"), "lo ");  // "wor" could start "world"
  EXPECT_FALSE(f.stopped());
  EXPECT_EQ(f.push("ld!"), "");
  EXPECT_TRUE(f.stopped());
  EXPECT_EQ(f.flush(), "");
}

TEST(StopStringFilter, ReleasesAFalseAlarm) {
  StopStringFilter f({"world"});
  EXPECT_EQ(f.push("wor"), "");
  EXPECT_EQ(f.push("m"), "worm");
  EXPECT_EQ(f.push("wo"), "");
  EXPECT_EQ(f.flush(), "wo");
}

TEST(StopStringFilter, NoStopsPassesThrough) {
  StopStringFilter f({});
  EXPECT_EQ(f.push("abc"), "abc");
}

class EmbeddedGeneration : public ::testing::Test {
 protected:
  void SetUp() override {
    auto file = GgufFile::from_bytes(embedded_model_bytes(), "tiny-stories.gguf");
    ASSERT_TRUE(file.ok()) << file.status().message();
    auto tok = Tokenizer::from_gguf(*file);
    ASSERT_TRUE(tok.ok()) << tok.status().message();
    tokenizer_ = std::make_unique<Tokenizer>(std::move(tok).value());
    auto model = Model::load(std::move(file).value());
    ASSERT_TRUE(model.ok()) << model.status().message();
    model_ = *model;
  }

  Result<GenerationStats> run(const std::string& prompt, GenerateOptions go, int64_t ctx, std::string* text) {
    SessionOptions so;
    so.n_ctx = ctx;
    so.n_threads = 1;
    Session session(model_, so);
    go.sampler.temperature = 0;
    const auto ids = tokenizer_->encode(prompt, true, false);
    return generate(session, *tokenizer_, ids, go, [&](std::string_view t) { text->append(t); });
  }

  std::unique_ptr<Tokenizer> tokenizer_;
  std::shared_ptr<const Model> model_;
};

TEST_F(EmbeddedGeneration, GreedyGeneratesNTokensWithSpaces) {
  GenerateOptions go;
  go.n_predict = 10;
  std::string text;
  auto stats = run("Once upon a time", go, 0, &text);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(stats->n_generated, 10);
  EXPECT_EQ(stats->stop, StopReason::kLength);
  EXPECT_EQ(text.rfind(" there was a little girl", 0), 0u) << text;  // the golden's continuation
}

TEST_F(EmbeddedGeneration, StopStringEndsGenerationAndIsNotPrinted) {
  GenerateOptions go;
  go.n_predict = 50;
  go.stop = {"girl"};
  std::string text;
  auto stats = run("Once upon a time", go, 0, &text);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->stop, StopReason::kStopString);
  EXPECT_EQ(text, " there was a little ");
}

TEST_F(EmbeddedGeneration, PromptLongerThanContextIsAnError) {
  GenerateOptions go;
  std::string text;
  auto stats = run("Once upon a time there was a little girl named Lily", go, 8, &text);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().kind(), ErrorKind::kBadInput);
  EXPECT_NE(stats.status().message().find("does not fit the context of 8"), std::string::npos)
      << stats.status().message();
}

TEST_F(EmbeddedGeneration, ContextFullStopsGeneration) {
  GenerateOptions go;
  go.n_predict = 100;
  std::string text;
  auto stats = run("Once upon a time", go, 8, &text);  // 5 prompt tokens
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->stop, StopReason::kContextFull);
  EXPECT_EQ(stats->n_generated, 4);
}

TEST_F(EmbeddedGeneration, CancelStopsBeforeTheFirstToken) {
  std::atomic<bool> cancel{true};
  GenerateOptions go;
  go.cancel = &cancel;
  std::string text;
  auto stats = run("Once", go, 0, &text);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->stop, StopReason::kCancelled);
  EXPECT_EQ(stats->n_generated, 0);
}

// A second generation on the same session (a chat's next turn) processes only the tokens after the common
// prefix and continues exactly as a fresh session given the whole prompt would.
TEST_F(EmbeddedGeneration, NextTurnReusesTheCommonPrefix) {
  SessionOptions so;
  so.n_threads = 1;
  Session session(model_, so);
  GenerateOptions go;
  go.n_predict = 6;
  go.sampler.temperature = 0;
  std::string first, second, fresh_text;
  const auto turn1 = tokenizer_->encode("Once upon a time", true, false);
  auto s1 = generate(session, *tokenizer_, turn1, go, [&](std::string_view t) { first.append(t); });
  ASSERT_TRUE(s1.ok()) << s1.status().message();
  EXPECT_EQ(s1->n_prompt_evaluated, static_cast<int64_t>(turn1.size()));
  // The history holds the prompt and every generated token but the last (never evaluated).
  EXPECT_EQ(session.history().size(), turn1.size() + 5);

  const auto turn2 = tokenizer_->encode("Once upon a time" + first + " She liked", true, false);
  auto s2 = generate(session, *tokenizer_, turn2, go, [&](std::string_view t) { second.append(t); });
  ASSERT_TRUE(s2.ok()) << s2.status().message();
  EXPECT_LT(s2->n_prompt_evaluated, static_cast<int64_t>(turn2.size()));
  EXPECT_GE(s2->n_prompt_evaluated, 2);  // at least " She liked"

  Session fresh(model_, so);
  auto s3 = generate(fresh, *tokenizer_, turn2, go, [&](std::string_view t) { fresh_text.append(t); });
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(s3->n_prompt_evaluated, static_cast<int64_t>(turn2.size()));
  EXPECT_EQ(second, fresh_text);

  // The same prompt again: only its last token is evaluated (for its logits).
  std::vector<float> logits;
  auto again = session.eval_reusing_prefix(turn2, logits);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 1);
  EXPECT_EQ(session.history(), turn2);
}

}  // namespace
}  // namespace pocket
