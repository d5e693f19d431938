#include "engine/generator.h"

#include <algorithm>
#include <chrono>

namespace pocket {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

std::string_view stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::kLength: return "length";
    case StopReason::kEndOfGeneration: return "end of generation";
    case StopReason::kStopString: return "stop string";
    case StopReason::kContextFull: return "context full";
    case StopReason::kCancelled: return "cancelled";
  }
  return "?";
}

std::string StopStringFilter::push(std::string_view text) {
  if (stopped_) return "";
  held_ += text;
  if (stops_.empty()) return std::exchange(held_, "");
  size_t first = std::string::npos;
  for (const auto& s : stops_) {
    if (!s.empty()) first = std::min(first, held_.find(s));
  }
  if (first != std::string::npos) {
    stopped_ = true;
    std::string out = held_.substr(0, first);
    held_.clear();
    return out;
  }
  // Keep the longest tail that is a proper prefix of some stop string.
  size_t keep = 0;
  for (const auto& s : stops_) {
    for (size_t len = std::min(s.size() - 1, held_.size()); len > keep; --len) {
      if (held_.compare(held_.size() - len, len, s, 0, len) == 0) {
        keep = len;
        break;
      }
    }
  }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopStringFilter::flush() { return stopped_ ? "" : std::exchange(held_, ""); }

Result<GenerationStats> generate(Session& session, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                                 const GenerateOptions& options, const TextSink& sink) {
  if (prompt.empty()) return bad_input("the prompt is empty (no tokens; the model adds no BOS)");
  if (static_cast<int64_t>(prompt.size()) >= session.n_ctx()) {
    return bad_input("the prompt has {} tokens, which does not fit the context of {} (raise --ctx)", prompt.size(),
                     session.n_ctx());
  }
  GenerationStats stats;
  stats.n_prompt = static_cast<int64_t>(prompt.size());

  // The detokenizer sees the prompt (minus BOS) first so that the generated text continues it exactly
  // (e.g. keeps the space before the first generated word); the prompt itself is echoed by the caller.
  StreamingDetokenizer detok(tokenizer);
  for (size_t i = 0; i < prompt.size(); ++i) {
    if (i == 0 && prompt[0] == tokenizer.bos_id()) continue;
    (void)detok.push(prompt[i]);
  }
  StopStringFilter filter(options.stop);
  Rng rng(options.sampler.seed);

  const auto t_start = Clock::now();
  std::vector<float> logits;
  POCKET_ASSIGN_OR_RETURN(stats.n_prompt_evaluated, session.eval_reusing_prefix(prompt, logits));
  stats.prompt_seconds = seconds_since(t_start);

  Clock::time_point t_first{};
  while (options.n_predict < 0 || stats.n_generated < options.n_predict) {
    if (options.cancel != nullptr && options.cancel->load()) {
      stats.stop = StopReason::kCancelled;
      break;
    }
    const int32_t id = sample(logits, session.history(), options.sampler, rng);
    if (stats.n_generated == 0) {
      t_first = Clock::now();
      stats.ttft_seconds = seconds_since(t_start);
    }
    if (tokenizer.is_end_of_generation(id)) {
      stats.stop = StopReason::kEndOfGeneration;
      break;
    }
    stats.generated.push_back(id);
    ++stats.n_generated;
    if (std::string out = filter.push(detok.push(id)); !out.empty()) sink(out);
    if (filter.stopped()) {
      stats.stop = StopReason::kStopString;
      break;
    }
    if (options.n_predict >= 0 && stats.n_generated >= options.n_predict) break;  // no need to evaluate it
    if (session.kv().n_past() >= session.n_ctx()) {
      stats.stop = StopReason::kContextFull;
      break;
    }
    POCKET_RETURN_IF_ERROR(session.eval(std::span(&id, 1), logits));
  }
  if (!filter.stopped()) {
    std::string tail = filter.push(detok.flush()) + filter.flush();
    if (!tail.empty()) sink(tail);
  }
  if (stats.n_generated > 0) stats.gen_seconds = seconds_since(t_first);
  return stats;
}

}  // namespace pocket
