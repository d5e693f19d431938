// A session: one model (shared, read-only) and its own KV cache, plus the token history the cache holds.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/status.h"
#include "kernels/matmul.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace pocket {

struct SessionOptions {
  int64_t n_ctx = 0;                                     // 0: the model's training context
  KvType kv_type = KvType::kF32;
  kernels::MatmulPath path = kernels::MatmulPath::kFast;
  int n_threads = 0;                                     // 0: all hardware threads
};

class Session {
 public:
  Session(std::shared_ptr<const Model> model, const SessionOptions& options);

  const Model& model() const { return *model_; }
  const KvCache& kv() const { return kv_; }
  int64_t n_ctx() const { return kv_.n_ctx(); }
  const std::vector<int32_t>& history() const { return history_; }
  int n_threads() const { return n_threads_; }

  // Appends `tokens` (a prompt batch or one decoded token) and leaves the last token's logits in `logits`
  // [n_vocab]. Errors: token id out of range, context full (nothing is appended then).
  Status eval(std::span<const int32_t> tokens, std::vector<float>& logits);
  // Makes the history equal to `prompt`, keeping the longest common prefix already in the cache and evaluating
  // only the rest (at least the last token, for its logits); leaves the last token's logits in `logits`.
  // Returns how many tokens were evaluated. Errors as eval() (the history is then the kept prefix).
  Result<int64_t> eval_reusing_prefix(std::span<const int32_t> prompt, std::vector<float>& logits);
  // Drops history and cache positions >= n.
  void truncate(int64_t n);
  // Forgets everything (the KV cache and history).
  void reset();

  // An optional hook for named intermediates (debugging).
  void set_hook(ForwardHook hook) { hook_ = std::move(hook); }

 private:
  std::shared_ptr<const Model> model_;
  KvCache kv_;
  kernels::MatmulPath path_;
  int n_threads_;
  std::vector<int32_t> history_;
  ForwardHook hook_;
};

}  // namespace pocket
