// /metrics text: Prometheus exposition format with cumulative histogram buckets.
#include "server/metrics.h"

#include <gtest/gtest.h>

namespace pocket::server {
namespace {

TEST(ServerMetrics, RendersCountersGaugesAndCumulativeHistogram) {
  Metrics m;
  m.on_request("/v1/completions", 200);
  m.on_request("/v1/completions", 200);
  m.on_request("other", 404);
  m.on_prefill(100, 0.5);
  m.on_decode(30, 1.5);
  m.on_ttft(0.02);   // le 0.025
  m.on_ttft(0.3);    // le 0.5
  m.on_ttft(100);    // only +Inf
  m.on_finished(10, 4, 6);
  m.set_queue_depth(3);
  m.set_active_slots(2, 4);
  const std::string t = m.render();
  auto has = [&](const std::string& line) { return t.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("pocket_requests_total{endpoint=\"/v1/completions\",code=\"200\"} 2")) << t;
  EXPECT_TRUE(has("pocket_requests_total{endpoint=\"other\",code=\"404\"} 1")) << t;
  EXPECT_TRUE(has("# TYPE pocket_time_to_first_token_seconds histogram")) << t;
  EXPECT_TRUE(has("pocket_time_to_first_token_seconds_bucket{le=\"0.01\"} 0")) << t;
  EXPECT_TRUE(has("pocket_time_to_first_token_seconds_bucket{le=\"0.025\"} 1")) << t;
  EXPECT_TRUE(has("pocket_time_to_first_token_seconds_bucket{le=\"0.5\"} 2")) << t;
  EXPECT_TRUE(has("pocket_time_to_first_token_seconds_bucket{le=\"10\"} 2")) << t;
  EXPECT_TRUE(has("pocket_time_to_first_token_seconds_bucket{le=\"+Inf\"} 3")) << t;
  EXPECT_TRUE(has("pocket_time_to_first_token_seconds_count 3")) << t;
  EXPECT_TRUE(has("pocket_prefill_tokens_per_second 200.000")) << t;
  EXPECT_TRUE(has("pocket_decode_tokens_per_second 20.000")) << t;
  EXPECT_TRUE(has("pocket_prompt_tokens_total 10")) << t;
  EXPECT_TRUE(has("pocket_prompt_cached_tokens_total 4")) << t;
  EXPECT_TRUE(has("pocket_completion_tokens_total 6")) << t;
  EXPECT_TRUE(has("pocket_queue_depth 3")) << t;
  EXPECT_TRUE(has("pocket_active_slots 2")) << t;
  EXPECT_TRUE(has("pocket_slots 4")) << t;
}

}  // namespace
}  // namespace pocket::server
