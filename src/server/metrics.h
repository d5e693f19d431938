// Server counters for GET /metrics in the Prometheus text exposition format (version 0.0.4). Thread-safe: the
// HTTP threads count requests, the engine thread counts tokens, time and slot use.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace pocket::server {

class Metrics {
 public:
  // Time-to-first-token histogram upper bounds, seconds (+Inf is implicit).
  static constexpr std::array<double, 10> kTtftBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  void on_request(const std::string& endpoint, int status);
  // Tokens evaluated by the engine and the share of step time they took.
  void on_prefill(int64_t tokens, double seconds);
  void on_decode(int64_t tokens, double seconds);
  void on_ttft(double seconds);
  void on_finished(int64_t prompt_tokens, int64_t cached_tokens, int64_t completion_tokens);
  void set_queue_depth(int64_t n);
  void set_active_slots(int64_t n, int64_t total);

  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  uint64_t prompt_tokens_ = 0, cached_tokens_ = 0, completion_tokens_ = 0, completions_ = 0;
  uint64_t prefill_tokens_ = 0, decode_tokens_ = 0;
  double prefill_seconds_ = 0, decode_seconds_ = 0;
  std::array<uint64_t, kTtftBuckets.size()> ttft_counts_{};  // non-cumulative per bucket
  uint64_t ttft_count_ = 0;
  double ttft_sum_ = 0;
  int64_t queue_depth_ = 0, active_slots_ = 0, total_slots_ = 0;
};

}  // namespace pocket::server
