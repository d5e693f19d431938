// The continuous-batching engine on the embedded model: a lone greedy request generates exactly what the
// single-sequence generate() loop (`pocket run`) does; concurrent requests give each the same result as alone;
// the prefix cache, stop strings, lengths, logprobs, seeds, cancellation and the queue limit.
#include "server/engine.h"

#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "engine/generator.h"
#include "engine/session.h"
#include "test_model.h"

namespace pocket::server {
namespace {

using namespace std::chrono_literals;

Event collect(RequestHandle& h, std::string* text, std::vector<TokenLogprob>* lps = nullptr) {
  Event e;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    if (!h.wait(e, 100ms)) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "no final event within 60 s";
        return e;
      }
      continue;
    }
    *text += e.text;
    if (lps) lps->insert(lps->end(), e.logprobs.begin(), e.logprobs.end());
    if (e.final) return e;
  }
}

GenParams greedy(const std::string& prompt, int64_t max_tokens) {
  const TestModel& tm = TestModel::get();
  GenParams p;
  p.prompt = tm.tokenizer->encode(prompt, true, true);
  p.sampler.temperature = 0;
  p.max_tokens = max_tokens;
  return p;
}

// What `pocket run --temp 0 -n N` generates (the single-sequence loop).
std::string reference(const std::string& prompt, int n, int64_t* n_generated = nullptr) {
  const TestModel& tm = TestModel::get();
  Session session(tm.model, SessionOptions{});
  GenerateOptions go;
  go.n_predict = n;
  go.sampler.temperature = 0;
  std::string text;
  auto ids = tm.tokenizer->encode(prompt, true, true);
  auto stats = generate(session, *tm.tokenizer, ids, go, [&](std::string_view t) { text += t; });
  EXPECT_TRUE(stats.ok()) << stats.status().message();
  if (n_generated) *n_generated = stats.ok() ? stats->n_generated : -1;
  return text;
}

std::unique_ptr<Engine> make_engine(int slots, size_t queue = 64, int64_t ctx = 0) {
  const TestModel& tm = TestModel::get();
  EngineOptions eo;
  eo.n_slots = slots;
  eo.max_queue = queue;
  eo.n_ctx = ctx;
  eo.n_threads = 1;
  return std::make_unique<Engine>(tm.model, *tm.tokenizer, eo);
}

const char* kPrompts[] = {"Once upon a time", "Tom and Lily went to the park", "The cat sat", "One day, a big dog",
                          "Sue had a red ball", "The sun was hot"};

TEST(ServerEngine, LoneGreedyRequestEqualsGenerate) {
  auto engine = make_engine(4);
  for (const char* prompt : {"Once upon a time", "Tom and Lily went to the park"}) {
    int64_t n_ref = 0;
    const std::string ref = reference(prompt, 60, &n_ref);
    auto h = engine->submit(greedy(prompt, 60));
    ASSERT_NE(h, nullptr);
    std::string text;
    Event f = collect(*h, &text);
    EXPECT_EQ(text, ref) << prompt;
    EXPECT_EQ(f.completion_tokens, n_ref);
    EXPECT_EQ(f.prompt_tokens, static_cast<int64_t>(greedy(prompt, 1).prompt.size()));
  }
}

TEST(ServerEngine, ConcurrentGreedyRequestsEachEqualTheirLoneResult) {
  std::vector<std::string> refs;
  for (const char* p : kPrompts) refs.push_back(reference(p, 50));
  auto engine = make_engine(4);  // 6 requests on 4 slots: two wait in the queue, then join the running batch
  std::vector<std::shared_ptr<RequestHandle>> hs;
  for (const char* p : kPrompts) hs.push_back(engine->submit(greedy(p, 50)));
  for (size_t i = 0; i < hs.size(); ++i) {
    ASSERT_NE(hs[i], nullptr);
    std::string text;
    Event f = collect(*hs[i], &text);
    EXPECT_NE(f.finish, FinishReason::kError) << f.error;
    EXPECT_EQ(text, refs[i]) << kPrompts[i];
  }
}

TEST(ServerEngine, PrefixCacheReusesTheLongestCommonPrefix) {
  auto engine = make_engine(2);
  const std::string turn1 = "Once upon a time, there was a little girl named Lily. She liked to play";
  std::string t1;
  Event f1 = collect(*engine->submit(greedy(turn1, 20)), &t1);
  EXPECT_EQ(f1.cached_tokens, 0);
  // Another prompt takes the other (empty) slot... or the same one; either way the follow-up below extends turn1.
  std::string t2;
  collect(*engine->submit(greedy("The cat sat", 5)), &t2);
  const std::string turn2 = turn1 + t1 + " and then";
  std::string t3;
  Event f3 = collect(*engine->submit(greedy(turn2, 20)), &t3);
  const auto p1 = greedy(turn1, 1).prompt;
  EXPECT_GE(f3.cached_tokens, static_cast<int64_t>(p1.size()) - 1);
  EXPECT_EQ(t3, reference(turn2, 20));  // reusing the cache changes nothing in the result
}

TEST(ServerEngine, StopStringAndLengthFinishReasons) {
  auto engine = make_engine(2);
  const std::string ref = reference("Once upon a time", 40);
  const size_t pos = ref.find("girl");
  ASSERT_NE(pos, std::string::npos) << ref;
  GenParams p = greedy("Once upon a time", 40);
  p.stop = {"girl"};
  std::string text;
  Event f = collect(*engine->submit(p), &text);
  EXPECT_EQ(f.finish, FinishReason::kStop);
  EXPECT_EQ(text, ref.substr(0, pos));

  std::string text2;
  Event f2 = collect(*engine->submit(greedy("Once upon a time", 7)), &text2);
  EXPECT_EQ(f2.finish, FinishReason::kLength);
  EXPECT_EQ(f2.completion_tokens, 7);
}

TEST(ServerEngine, ContextFullEndsWithLength) {
  auto engine = make_engine(1, 4, /*ctx=*/16);
  GenParams p = greedy("Once upon a time", 100);
  std::string text;
  Event f = collect(*engine->submit(p), &text);
  EXPECT_EQ(f.finish, FinishReason::kLength);
  EXPECT_EQ(f.prompt_tokens + f.completion_tokens, 16 + 1);  // the last sampled token needs no cache position
}

TEST(ServerEngine, LogprobsOfGreedyTokensAreTheTopAlternative) {
  auto engine = make_engine(1);
  GenParams p = greedy("Once upon a time", 8);
  p.top_logprobs = 3;
  std::string text;
  std::vector<TokenLogprob> lps;
  Event f = collect(*engine->submit(p), &text, &lps);
  ASSERT_EQ(static_cast<int64_t>(lps.size()), f.completion_tokens);
  for (const auto& lp : lps) {
    ASSERT_EQ(lp.top.size(), 3u);
    EXPECT_EQ(lp.top[0].first, lp.id);
    EXPECT_FLOAT_EQ(lp.top[0].second, lp.logprob);
    EXPECT_LE(lp.logprob, 0.0f);
    EXPECT_GE(lp.top[0].second, lp.top[1].second);
    double mass = 0;
    for (auto [id, l] : lp.top) mass += std::exp(l);
    EXPECT_LE(mass, 1.0 + 1e-5);
  }
}

TEST(ServerEngine, SameSeedSameTextDifferentSeedsDiffer) {
  auto engine = make_engine(2);
  auto sampled = [&](uint64_t seed) {
    GenParams p = greedy("Once upon a time", 40);
    p.sampler.temperature = 1.0f;
    p.sampler.top_k = 0;
    p.sampler.top_p = 1.0f;
    p.sampler.min_p = 0;
    p.sampler.seed = seed;
    std::string text;
    collect(*engine->submit(p), &text);
    return text;
  };
  const std::string a = sampled(42), b = sampled(42), c = sampled(7), d = sampled(8);
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == c && c == d) << "three seeds gave the same 40 sampled tokens";
}

TEST(ServerEngine, CancelFreesTheSlot) {
  auto engine = make_engine(1, 4, 8192);  // a long generation: it is still running when cancelled
  auto h = engine->submit(greedy("Once upon a time", -1));  // until the context is full
  ASSERT_NE(h, nullptr);
  Event e;
  ASSERT_TRUE(h->wait(e, 30s));  // it is running
  h->cancel();
  std::string text;
  Event f = e.final ? e : collect(*h, &text);
  EXPECT_EQ(f.finish, FinishReason::kCancelled);
  // The single slot is free again.
  std::string t2;
  Event f2 = collect(*engine->submit(greedy("The cat sat", 3)), &t2);
  EXPECT_EQ(f2.finish, FinishReason::kLength);
}

TEST(ServerEngine, FullQueueRefusesAndCancelAllEndsEverything) {
  auto engine = make_engine(1, /*queue=*/1, /*ctx=*/8192);
  auto a = engine->submit(greedy("Once upon a time", -1));
  ASSERT_NE(a, nullptr);
  Event e;
  ASSERT_TRUE(a->wait(e, 30s));  // a holds the slot
  auto b = engine->submit(greedy("The cat sat", -1));
  ASSERT_NE(b, nullptr);         // b waits
  EXPECT_EQ(engine->submit(greedy("Sue had", 3)), nullptr);  // the queue is full
  engine->cancel_all();
  std::string ta, tb;
  EXPECT_EQ(collect(*a, &ta).finish, FinishReason::kCancelled);
  EXPECT_EQ(collect(*b, &tb).finish, FinishReason::kCancelled);
  engine->stop();
  EXPECT_EQ(engine->submit(greedy("Sue had", 3)), nullptr);  // stopped
}

TEST(ServerEngine, InvalidPromptsFinishWithAnError) {
  auto engine = make_engine(1, 4, 16);
  GenParams empty;
  std::string t;
  EXPECT_EQ(collect(*engine->submit(empty), &t).finish, FinishReason::kError);
  GenParams too_long = greedy(std::string(200, 'a'), 3);
  EXPECT_EQ(collect(*engine->submit(too_long), &t).finish, FinishReason::kError);
  GenParams bad_id;
  bad_id.prompt = {1, 1 << 30};
  EXPECT_EQ(collect(*engine->submit(bad_id), &t).finish, FinishReason::kError);
  EXPECT_EQ(collect(*engine->submit(greedy("The cat", 2)), &t).finish, FinishReason::kLength);  // still serving
}

}  // namespace
}  // namespace pocket::server
