// A model ready to run: its GGUF file, ArchSpec, hyperparameters and weights bound by name with shape checks,
// and the one forward pass (forward.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "format/gguf.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/arch.h"
#include "model/hparams.h"
#include "model/kv_cache.h"

namespace pocket {

using kernels::WeightView;

// One transformer block's weights. Matrices stay in their stored dtype (views into the file); small vectors
// (norms, biases) are dequantized to f32 at load. Empty views/vectors are absent tensors.
struct LayerWeights {
  std::vector<float> attn_norm;                 // [n_embd]
  WeightView wq, wk, wv;                        // [n_embd] -> [n_head·hd_k], [n_kv·hd_k], [n_kv·hd_v]
  WeightView wqkv;                              // fused: [n_embd] -> [n_head·hd_k + n_kv·hd_k + n_kv·hd_v]
  std::vector<float> bq, bk, bv;                // optional biases
  std::vector<float> q_norm, k_norm;            // [hd_k] per-head RMS norm weights (qk_norm archs)
  WeightView wo;                                // [n_head·hd_v] -> [n_embd]
  std::vector<float> bo;                        // optional
  std::vector<float> post_attn_norm;            // [n_embd] (post_norms archs)
  std::vector<float> ffn_norm;                  // [n_embd]
  WeightView ffn_gate, ffn_up, ffn_down;        // [n_embd] -> [n_ff] (up: [2·n_ff] when fused), [n_ff] -> [n_embd]
  // Fast path only: the packed rows of wq|wk|wv and of ffn_gate|ffn_up stacked into one matrix each (one matmul
  // for each group; kernels::stack_packed). `data` is not these rows: never use them on the exact path.
  WeightView qkv_stacked, gate_up_stacked;
  std::vector<float> post_ffn_norm;             // [n_embd]
  kernels::RopeParams rope;                     // this layer's rope (local layers may use another base)
  bool is_swa = false;                          // sliding-window attention over the last n_swa positions
};

struct ModelWeights {
  WeightView token_embd;          // [n_embd] x n_vocab rows
  std::vector<float> rope_freqs;  // [n_rot / 2] Llama-3 frequency factors, or empty
  std::vector<LayerWeights> layers;
  std::vector<float> output_norm; // [n_embd]
  WeightView output;              // [n_embd] -> [n_vocab]; token_embd when tied
  bool tied_output = false;
};

// Called with each named intermediate of the forward pass: name (llama.cpp's names: "attn_norm", "Qcur",
// "kqv_out", "ffn_out", "l_out", "result_norm", "result_output", ...), layer (-1 outside the blocks), and the
// data [n_tokens, width] row-major.
using ForwardHook = std::function<void(std::string_view name, int layer, const float* data, int64_t n_tokens,
                                       int64_t width)>;

struct ForwardOptions {
  kernels::MatmulPath path = kernels::MatmulPath::kFast;
  int n_threads = 1;
  bool all_logits = false;          // logits for every token (else only the last)
  const ForwardHook* hook = nullptr;
};

// One sequence's share of a batched forward pass: its new tokens, appended to its own cache at kv->n_past().
struct SequenceBatch {
  std::span<const int32_t> tokens;
  KvCache* kv = nullptr;
};

class Model {
 public:
  // Binds `file` (kept alive inside the model). Errors: unknown architecture, missing key, missing tensor,
  // wrong shape, token_embd rows != vocabulary size, tensor type without a dequantizer.
  static Result<std::shared_ptr<const Model>> load(GgufFile file);

  const GgufFile& file() const { return file_; }
  const ArchSpec& arch() const { return *arch_; }
  const Hparams& hparams() const { return hparams_; }
  const ModelWeights& weights() const { return weights_; }
  int64_t n_vocab() const { return hparams_.n_vocab; }
  // Wall time load spent repacking weights for the SIMD kernels (kernels/packed.h), part of the load time.
  double repack_seconds() const { return repack_seconds_; }

  // A KV cache for this model: n_ctx positions (0: the model's training context).
  KvCache make_cache(int64_t n_ctx, KvType type) const;

  // Evaluates `tokens` at positions kv.n_past() .. + n, appending their K/V to the cache. logits receives
  // [n_tokens, n_vocab] (all_logits) or [1, n_vocab] (last token). Errors: token id out of range, empty input,
  // context full (the cache is left unchanged).
  Status forward(std::span<const int32_t> tokens, KvCache& kv, const ForwardOptions& options,
                 std::vector<float>& logits) const;

  // Evaluates several independent sequences (each with its own cache) in one pass, so the weights are read once
  // for all their tokens (continuous batching). logits receives, for each sequence in order, [n_tokens_s, n_vocab]
  // (all_logits) or its last token's [1, n_vocab]; the rows are concatenated. Every sequence is checked (token
  // range, room in its cache, distinct caches) before any cache changes.
  Status forward_batch(std::span<const SequenceBatch> seqs, const ForwardOptions& options,
                       std::vector<float>& logits) const;

 private:
  Model(GgufFile file, const ArchSpec* arch) : file_(std::move(file)), arch_(arch) {}
  Status bind_weights();
  Status bind_layer(int il, LayerWeights& layer);

  // Forward-pass stages (forward.cc). Scratch holds the per-layer activation buffers, allocated (and zeroed) once
  // per forward call rather than once per layer.
  struct Scratch;
  // Q, K and V of a batch: row t of each starts at ptr + t * stride (slices of one fused [n, q | k | v] buffer, or
  // three separate buffers), so a fused projection needs no copy.
  struct QkvRows {
    float *q, *k, *v;
    int64_t stride_q, stride_k, stride_v;
  };
  QkvRows project_qkv(int il, const float* x, int64_t n, const ForwardOptions& opt, Scratch& scratch) const;
  // A sequence's rows in the batch: rows [row0, row0 + n) of the activations sit at positions pos0.. of *kv.
  struct SeqRows {
    int64_t row0, n, pos0;
    KvCache* kv;
  };
  void attention(int il, const float* x, std::span<const SeqRows> seqs, int64_t n, const ForwardOptions& opt,
                 Scratch& scratch, float* out) const;
  void attend(int il, const float* q, int64_t q_stride, std::span<const SeqRows> seqs, const ForwardOptions& opt,
              std::vector<float>& att) const;
  void feed_forward(int il, const float* x, int64_t n, const ForwardOptions& opt, Scratch& scratch,
                    float* out) const;

  GgufFile file_;
  const ArchSpec* arch_;
  Hparams hparams_;
  double repack_seconds_ = 0;
  ModelWeights weights_;
};

}  // namespace pocket
