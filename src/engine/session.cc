#include "engine/session.h"

#include <algorithm>
#include <thread>

namespace pocket {

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& options)
    : model_(std::move(model)),
      kv_(model_->make_cache(options.n_ctx, options.kv_type)),
      path_(options.path),
      n_threads_(options.n_threads > 0 ? options.n_threads
                                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))) {}

Status Session::eval(std::span<const int32_t> tokens, std::vector<float>& logits) {
  ForwardOptions fo;
  fo.path = path_;
  fo.n_threads = n_threads_;
  fo.all_logits = false;
  fo.hook = hook_ ? &hook_ : nullptr;
  POCKET_RETURN_IF_ERROR(model_->forward(tokens, kv_, fo, logits));
  history_.insert(history_.end(), tokens.begin(), tokens.end());
  return ok_status();
}

Result<int64_t> Session::eval_reusing_prefix(std::span<const int32_t> prompt, std::vector<float>& logits) {
  if (prompt.empty()) return bad_input("no tokens to evaluate");
  // Keep the longest common prefix, but evaluate at least the prompt's last token: its logits are the result.
  size_t keep = 0;
  while (keep < history_.size() && keep + 1 < prompt.size() && history_[keep] == prompt[keep]) ++keep;
  truncate(static_cast<int64_t>(keep));
  POCKET_RETURN_IF_ERROR(eval(prompt.subspan(keep), logits));
  return static_cast<int64_t>(prompt.size() - keep);
}

void Session::truncate(int64_t n) {
  if (n < 0) n = 0;
  if (n >= static_cast<int64_t>(history_.size())) return;
  history_.resize(static_cast<size_t>(n));
  kv_.truncate(n);
}

void Session::reset() {
  kv_.clear();
  history_.clear();
}

}  // namespace pocket
