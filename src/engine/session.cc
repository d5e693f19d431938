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

void Session::reset() {
  kv_.clear();
  history_.clear();
}

}  // namespace pocket
