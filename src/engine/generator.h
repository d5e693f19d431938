// The generation loop: prefill the prompt as one batch, then sample and decode one token at a time, streaming
// UTF-8-safe text; stops at n_predict tokens, an end-of-generation token, a stop string, or cancellation.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/session.h"
#include "sample/sampler.h"
#include "tokenizer/tokenizer.h"

namespace pocket {

struct GenerateOptions {
  int n_predict = 128;                      // tokens to generate (< 0: until the context is full)
  SamplerParams sampler;
  std::vector<std::string> stop;            // stop strings (not printed)
  const std::atomic<bool>* cancel = nullptr;  // set (e.g. by SIGINT) to stop after the current token
};

enum class StopReason { kLength, kEndOfGeneration, kStopString, kContextFull, kCancelled };
std::string_view stop_reason_name(StopReason r);

struct GenerationStats {
  int64_t n_prompt = 0;
  int64_t n_prompt_evaluated = 0;  // prompt tokens actually processed (the rest was reused from the cache)
  int64_t n_generated = 0;
  double prompt_seconds = 0;   // prefill time
  double gen_seconds = 0;      // decode time (after the first token)
  double ttft_seconds = 0;     // from the start of prefill to the first generated token
  StopReason stop = StopReason::kLength;
  std::vector<int32_t> generated;  // the generated ids (an end-of-generation token is not included)
};

// Called with each piece of text as soon as it is safe to print (complete UTF-8, not part of a stop string).
using TextSink = std::function<void(std::string_view)>;

// Makes the session hold `prompt` (non-empty, shorter than the context), reusing the common prefix of what it
// already holds (a chat's earlier turns are not processed again), then generates; the generated tokens are
// appended to the session's history, except the last one (never evaluated). Errors: empty prompt, prompt too long
// for the context, token id out of range.
Result<GenerationStats> generate(Session& session, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                                 const GenerateOptions& options, const TextSink& sink);

// Holds back text that could be the beginning of a stop string. push() returns what may be printed now;
// stopped() tells whether a stop string was found (the text before it has been returned).
class StopStringFilter {
 public:
  explicit StopStringFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {}
  std::string push(std::string_view text);
  std::string flush();  // at the end: whatever is held back
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace pocket
