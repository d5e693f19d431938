// The serving engine: one thread owns the model state (N slots, each a KV cache plus the tokens it holds) and
// runs continuous batching; HTTP threads only submit() requests and read their events.
//
// Each engine step makes one Model::forward_batch call over every active slot: one token per decoding slot plus a
// chunk of each slot still prefilling its prompt (at most n_batch tokens in all), so the weights are read once per
// step for all concurrent requests. A new request takes the free slot whose cached tokens share the longest prefix
// with its prompt (the prefix cache: a chat's earlier turns are not evaluated again).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "model/kv_cache.h"
#include "model/model.h"
#include "sample/sampler.h"
#include "server/metrics.h"
#include "tokenizer/tokenizer.h"

namespace pocket::server {

// One generated token's log-probability (natural log, over the raw logits) and the most likely alternatives.
struct TokenLogprob {
  int32_t id = -1;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // (id, logprob), most likely first
};

enum class FinishReason { kStop, kLength, kCancelled, kError };
std::string_view finish_reason_name(FinishReason r);  // "stop", "length", "cancelled", "error"

// What the engine tells a request: text as it becomes printable, then one final event.
struct Event {
  std::string text;                    // UTF-8-complete text, stop strings held back / removed
  std::vector<TokenLogprob> logprobs;  // the tokens generated since the previous event (when requested)
  bool final = false;
  FinishReason finish = FinishReason::kStop;
  std::string error;                   // kError only
  int64_t prompt_tokens = 0;           // final only: usage
  int64_t cached_tokens = 0;           // prompt tokens reused from the slot's cache
  int64_t completion_tokens = 0;
};

struct GenParams {
  std::vector<int32_t> prompt;        // non-empty, shorter than the context
  SamplerParams sampler;
  int64_t max_tokens = -1;            // < 0: until the context is full
  std::vector<std::string> stop;      // stop strings (not returned)
  int top_logprobs = -1;              // < 0: no logprobs; else the number of alternatives (0..20)
};

// Shared by the HTTP thread that submitted a request and the engine thread.
class RequestHandle {
 public:
  // HTTP side: waits up to `timeout` for events and merges all that are queued into `out` (text concatenated,
  // logprobs appended; final when the last one is). False on timeout.
  bool wait(Event& out, std::chrono::milliseconds timeout);
  // Asks the engine to stop this request (client gone); its slot is freed at the next step.
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

  // Engine side.
  void push(Event e);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
  std::atomic<bool> cancelled_{false};
};

struct EngineOptions {
  int n_slots = 4;
  int64_t n_ctx = 0;           // per slot; 0: the model's training context
  KvType kv_type = KvType::kF16;  // as llama-server: half the memory and the attention reads of f32
  int n_threads = 0;           // 0: all hardware threads
  size_t max_queue = 64;       // waiting requests beyond the slots; more are refused (429)
  int64_t n_batch = 512;       // tokens per forward pass at most (decode tokens + prompt chunks)
};

class Engine {
 public:
  Engine(std::shared_ptr<const Model> model, Tokenizer tokenizer, const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request. Null when the queue is full or the engine is stopping. The prompt must already be
  // validated (non-empty, fits the context, ids in range): a bad one finishes with kError.
  std::shared_ptr<RequestHandle> submit(GenParams params);
  // Cancels every queued and running request (shutdown).
  void cancel_all();
  // Cancels everything and joins the engine thread (idempotent).
  void stop();

  int64_t n_ctx() const { return n_ctx_; }
  const Tokenizer& tokenizer() const { return tokenizer_; }
  const Model& model() const { return *model_; }
  Metrics& metrics() { return metrics_; }

 private:
  struct Slot;
  struct Pending {
    GenParams params;
    std::shared_ptr<RequestHandle> handle;
    std::chrono::steady_clock::time_point queued;
  };

  void run();
  void admit(std::deque<Pending>& incoming);
  bool step();
  void process_logits(Slot& slot, std::span<const float> logits);
  void finish(Slot& slot, FinishReason reason, std::string error = {});

  std::shared_ptr<const Model> model_;
  Tokenizer tokenizer_;
  EngineOptions options_;
  int64_t n_ctx_;
  int n_threads_;
  Metrics metrics_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  bool cancel_running_ = false;  // cancel_all(): the engine thread cancels its running requests

  std::vector<std::unique_ptr<Slot>> slots_;  // engine thread only
  std::vector<float> logits_;
  uint64_t use_counter_ = 0;
  std::thread thread_;
};

}  // namespace pocket::server
