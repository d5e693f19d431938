#include "server/metrics.h"

#include <fmt/format.h>

namespace pocket::server {

void Metrics::on_request(const std::string& endpoint, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint, status}];
}

void Metrics::on_prefill(int64_t tokens, double seconds) {
  std::lock_guard lock(mu_);
  prefill_tokens_ += static_cast<uint64_t>(tokens);
  prefill_seconds_ += seconds;
}

void Metrics::on_decode(int64_t tokens, double seconds) {
  std::lock_guard lock(mu_);
  decode_tokens_ += static_cast<uint64_t>(tokens);
  decode_seconds_ += seconds;
}

void Metrics::on_ttft(double seconds) {
  std::lock_guard lock(mu_);
  size_t i = 0;
  while (i < kTtftBuckets.size() && seconds > kTtftBuckets[i]) ++i;
  if (i < kTtftBuckets.size()) ++ttft_counts_[i];
  ++ttft_count_;
  ttft_sum_ += seconds;
}

void Metrics::on_finished(int64_t prompt_tokens, int64_t cached_tokens, int64_t completion_tokens) {
  std::lock_guard lock(mu_);
  prompt_tokens_ += static_cast<uint64_t>(prompt_tokens);
  cached_tokens_ += static_cast<uint64_t>(cached_tokens);
  completion_tokens_ += static_cast<uint64_t>(completion_tokens);
  ++completions_;
}

void Metrics::set_queue_depth(int64_t n) {
  std::lock_guard lock(mu_);
  queue_depth_ = n;
}

void Metrics::set_active_slots(int64_t n, int64_t total) {
  std::lock_guard lock(mu_);
  active_slots_ = n;
  total_slots_ = total;
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  family("pocket_requests_total", "counter", "HTTP requests by endpoint and status code.");
  for (const auto& [key, n] : requests_) {
    out += fmt::format("pocket_requests_total{{endpoint=\"{}\",code=\"{}\"}} {}\n", key.first, key.second, n);
  }
  family("pocket_completions_total", "counter", "Generations finished (any reason).");
  out += fmt::format("pocket_completions_total {}\n", completions_);
  family("pocket_prompt_tokens_total", "counter", "Prompt tokens of finished generations.");
  out += fmt::format("pocket_prompt_tokens_total {}\n", prompt_tokens_);
  family("pocket_prompt_cached_tokens_total", "counter", "Prompt tokens reused from a slot's prefix cache.");
  out += fmt::format("pocket_prompt_cached_tokens_total {}\n", cached_tokens_);
  family("pocket_completion_tokens_total", "counter", "Generated tokens of finished generations.");
  out += fmt::format("pocket_completion_tokens_total {}\n", completion_tokens_);
  family("pocket_prefill_tokens_total", "counter", "Prompt tokens evaluated.");
  out += fmt::format("pocket_prefill_tokens_total {}\n", prefill_tokens_);
  family("pocket_prefill_seconds_total", "counter", "Engine time spent evaluating prompt tokens.");
  out += fmt::format("pocket_prefill_seconds_total {:.6f}\n", prefill_seconds_);
  family("pocket_decode_tokens_total", "counter", "Generated tokens evaluated.");
  out += fmt::format("pocket_decode_tokens_total {}\n", decode_tokens_);
  family("pocket_decode_seconds_total", "counter", "Engine time spent evaluating generated tokens.");
  out += fmt::format("pocket_decode_seconds_total {:.6f}\n", decode_seconds_);
  family("pocket_prefill_tokens_per_second", "gauge", "Prompt tokens evaluated per second of prefill time.");
  out += fmt::format("pocket_prefill_tokens_per_second {:.3f}\n",
                     prefill_seconds_ > 0 ? static_cast<double>(prefill_tokens_) / prefill_seconds_ : 0.0);
  family("pocket_decode_tokens_per_second", "gauge", "Generated tokens per second of decode time (all slots).");
  out += fmt::format("pocket_decode_tokens_per_second {:.3f}\n",
                     decode_seconds_ > 0 ? static_cast<double>(decode_tokens_) / decode_seconds_ : 0.0);
  family("pocket_queue_depth", "gauge", "Requests waiting for a slot.");
  out += fmt::format("pocket_queue_depth {}\n", queue_depth_);
  family("pocket_active_slots", "gauge", "Slots running a request.");
  out += fmt::format("pocket_active_slots {}\n", active_slots_);
  family("pocket_slots", "gauge", "Slots (--parallel).");
  out += fmt::format("pocket_slots {}\n", total_slots_);
  family("pocket_time_to_first_token_seconds", "histogram", "From queueing to the first generated token.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kTtftBuckets.size(); ++i) {
    cumulative += ttft_counts_[i];
    out += fmt::format("pocket_time_to_first_token_seconds_bucket{{le=\"{}\"}} {}\n", kTtftBuckets[i], cumulative);
  }
  out += fmt::format("pocket_time_to_first_token_seconds_bucket{{le=\"+Inf\"}} {}\n", ttft_count_);
  out += fmt::format("pocket_time_to_first_token_seconds_sum {:.6f}\n", ttft_sum_);
  out += fmt::format("pocket_time_to_first_token_seconds_count {}\n", ttft_count_);
  return out;
}

}  // namespace pocket::server
