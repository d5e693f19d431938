// Model loading: architecture lookup, hyperparameters, and binding every tensor by name with shape checks.
#include "model/model.h"

#include <chrono>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/thread_pool.h"
#include "kernels/packed.h"

namespace pocket {
namespace {

enum class Need { kRequired, kOptional };

// Adds the wall time of its scope to *total (seconds).
class ScopedSeconds {
 public:
  explicit ScopedSeconds(double* total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~ScopedSeconds() { *total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  ScopedSeconds(const ScopedSeconds&) = delete;
  ScopedSeconds& operator=(const ScopedSeconds&) = delete;

 private:
  double* total_;
  std::chrono::steady_clock::time_point start_;
};

// Looks tensors up by name and checks their shape (ne0 first) and type against what the architecture expects.
class Binder {
 public:
  // Time spent repacking is added to *repack_seconds.
  Binder(const GgufFile& file, const ArchSpec& arch, double* repack_seconds)
      : file_(file), arch_(arch), repack_seconds_(repack_seconds) {}

  // A 2-D matrix [cols (ne0), rows (ne1)]. An absent optional tensor gives an empty view.
  Result<WeightView> matrix(const std::string& name, int64_t cols, int64_t rows, Need need) const {
    const GgufTensorInfo* t = file_.find_tensor(name);
    if (t == nullptr) return absent<WeightView>(name, need);
    POCKET_RETURN_IF_ERROR(check(*t, {cols, rows}));
    WeightView w;
    w.dtype = t->dtype;
    w.data = file_.tensor_bytes(*t).data();
    w.cols = cols;
    w.rows = rows;
    // Repacked for the SIMD target's kernels (kernels/packed.h); the embedding table only when it is the output.
    if (name != "token_embd.weight") {
      ScopedSeconds timer(repack_seconds_);
      w.packed = kernels::pack_weight(w, physical_core_count());
    }
    return w;
  }

  // A 1-D vector [n], dequantized to f32.
  Result<std::vector<float>> vector(const std::string& name, int64_t n, Need need) const {
    const GgufTensorInfo* t = file_.find_tensor(name);
    if (t == nullptr) return absent<std::vector<float>>(name, need);
    POCKET_RETURN_IF_ERROR(check(*t, {n}));
    std::vector<float> out(static_cast<size_t>(n));
    t->dtype->dequant(file_.tensor_bytes(*t).data(), out.data(), n);
    return out;
  }

 private:
  template <typename T>
  Result<T> absent(const std::string& name, Need need) const {
    if (need == Need::kOptional) return T{};
    return bad_input("{}: tensor '{}' is missing (required by architecture '{}')", file_.name(), name,
                     arch_.name);
  }

  Status check(const GgufTensorInfo& t, std::vector<int64_t> expected) const {
    // Trailing dims of 1 are equivalent (a [n] vector may be stored as [n, 1]).
    std::vector<int64_t> actual = t.shape;
    while (actual.size() > expected.size() && actual.back() == 1) actual.pop_back();
    if (actual != expected) {
      return bad_input("{}: tensor '{}' has shape [{}], expected [{}]", file_.name(), t.name,
                       fmt::join(t.shape, ", "), fmt::join(expected, ", "));
    }
    if (t.dtype->dequant == nullptr) {
      return bad_input("{}: tensor '{}' has type {}, which pocket cannot compute with yet", file_.name(), t.name,
                       t.dtype->name);
    }
    if (expected[0] % t.dtype->block_elems != 0) {
      return bad_input("{}: tensor '{}' of type {} has rows of {} values, not a multiple of the block size {}",
                       file_.name(), t.name, t.dtype->name, expected[0], t.dtype->block_elems);
    }
    return ok_status();
  }

  const GgufFile& file_;
  const ArchSpec& arch_;
  double* repack_seconds_;
};

std::string blk(int il, std::string_view what) { return fmt::format("blk.{}.{}", il, what); }

}  // namespace

Result<std::shared_ptr<const Model>> Model::load(GgufFile file) {
  auto arch_name = file.architecture();
  if (!arch_name) return bad_input("{}: key 'general.architecture' is missing", file.name());
  const ArchSpec* arch = find_arch(*arch_name);
  if (arch == nullptr) {
    std::string known;
    for (const auto& a : all_archs()) known += (known.empty() ? "" : ", ") + std::string(a.name);
    return bad_input("{}: unknown architecture '{}' (supported: {})", file.name(), *arch_name, known);
  }
  std::shared_ptr<Model> model(new Model(std::move(file), arch));
  POCKET_ASSIGN_OR_RETURN(model->hparams_, read_hparams(model->file_, *arch));
  POCKET_RETURN_IF_ERROR(model->bind_weights());
  return std::shared_ptr<const Model>(std::move(model));
}

Status Model::bind_weights() {
  kernels::keep_freed_activation_memory();  // activation temporaries are reused from the heap, not re-faulted
  const Hparams& hp = hparams_;
  const GgufTensorInfo* embd = file_.find_tensor("token_embd.weight");
  if (embd == nullptr) return bad_input("{}: tensor 'token_embd.weight' is missing", file_.name());
  if (embd->shape.size() != 2) {
    return bad_input("{}: tensor 'token_embd.weight' has {} dimensions, expected 2 [n_embd, n_vocab]",
                     file_.name(), embd->shape.size());
  }
  hparams_.n_vocab = embd->shape[1];
  if (const GgufValue* tokens = file_.find("tokenizer.ggml.tokens");
      tokens != nullptr && static_cast<int64_t>(tokens->array_length()) != hp.n_vocab) {
    return bad_input("{}: tensor 'token_embd.weight' has {} rows, expected the vocabulary size {} "
                     "(tokenizer.ggml.tokens)", file_.name(), hp.n_vocab, tokens->array_length());
  }
  Binder bind(file_, *arch_, &repack_seconds_);
  POCKET_ASSIGN_OR_RETURN(weights_.token_embd, bind.matrix("token_embd.weight", hp.n_embd, hp.n_vocab,
                                                           Need::kRequired));
  POCKET_ASSIGN_OR_RETURN(weights_.rope_freqs, bind.vector("rope_freqs.weight", hp.n_rot / 2, Need::kOptional));
  POCKET_ASSIGN_OR_RETURN(weights_.output_norm, bind.vector("output_norm.weight", hp.n_embd, Need::kRequired));
  POCKET_ASSIGN_OR_RETURN(weights_.output, bind.matrix("output.weight", hp.n_embd, hp.n_vocab, Need::kOptional));
  if (weights_.output.empty()) {
    weights_.output = weights_.token_embd;
    weights_.tied_output = true;
    ScopedSeconds timer(&repack_seconds_);
    weights_.output.packed = kernels::pack_weight(weights_.output, physical_core_count());
  }
  weights_.layers.resize(static_cast<size_t>(hp.n_layer));
  for (int il = 0; il < hp.n_layer; ++il) POCKET_RETURN_IF_ERROR(bind_layer(il, weights_.layers[il]));
  return ok_status();
}

namespace {

// Stacks the packed copies of `parts` (projections of one input) into `out` for the fast path; the parts' own
// packed copies are then dropped (the stacked one replaces them). Leaves everything as it is when they do not stack.
void stack_fast_path(WeightView& out, std::initializer_list<WeightView*> parts, double* repack_seconds) {
  ScopedSeconds timer(repack_seconds);
  std::vector<std::shared_ptr<const kernels::PackedWeight>> packed;
  int64_t rows = 0;
  for (WeightView* w : parts) {
    packed.push_back(w->packed);
    rows += w->rows;
  }
  auto stacked = kernels::stack_packed(packed);
  if (stacked == nullptr) return;
  WeightView* first = *parts.begin();
  out = *first;
  out.rows = rows;
  out.packed = std::move(stacked);
  for (WeightView* w : parts) w->packed.reset();
}

}  // namespace

Status Model::bind_layer(int il, LayerWeights& L) {
  const Hparams& hp = hparams_;
  const ArchSpec& a = *arch_;
  Binder bind(file_, a, &repack_seconds_);
  const int64_t q_dim = hp.n_head * hp.head_dim_k, k_dim = hp.n_embd_k_gqa(), v_dim = hp.n_embd_v_gqa();
  const int64_t o_in = hp.n_head * hp.head_dim_v;
  const Need required = Need::kRequired, optional = Need::kOptional;
  POCKET_ASSIGN_OR_RETURN(L.attn_norm, bind.vector(blk(il, "attn_norm.weight"), hp.n_embd, required));
  if (a.fused_qkv) {
    POCKET_ASSIGN_OR_RETURN(L.wqkv, bind.matrix(blk(il, "attn_qkv.weight"), hp.n_embd, q_dim + k_dim + v_dim,
                                                required));
  } else {
    POCKET_ASSIGN_OR_RETURN(L.wq, bind.matrix(blk(il, "attn_q.weight"), hp.n_embd, q_dim, required));
    POCKET_ASSIGN_OR_RETURN(L.wk, bind.matrix(blk(il, "attn_k.weight"), hp.n_embd, k_dim, required));
    POCKET_ASSIGN_OR_RETURN(L.wv, bind.matrix(blk(il, "attn_v.weight"), hp.n_embd, v_dim, required));
    const Need bias = a.qkv_bias_required ? required : optional;
    POCKET_ASSIGN_OR_RETURN(L.bq, bind.vector(blk(il, "attn_q.bias"), q_dim, bias));
    POCKET_ASSIGN_OR_RETURN(L.bk, bind.vector(blk(il, "attn_k.bias"), k_dim, bias));
    POCKET_ASSIGN_OR_RETURN(L.bv, bind.vector(blk(il, "attn_v.bias"), v_dim, bias));
  }
  if (a.qk_norm) {
    POCKET_ASSIGN_OR_RETURN(L.q_norm, bind.vector(blk(il, "attn_q_norm.weight"), hp.head_dim_k, required));
    POCKET_ASSIGN_OR_RETURN(L.k_norm, bind.vector(blk(il, "attn_k_norm.weight"), hp.head_dim_k, required));
  }
  POCKET_ASSIGN_OR_RETURN(L.wo, bind.matrix(blk(il, "attn_output.weight"), o_in, hp.n_embd, required));
  POCKET_ASSIGN_OR_RETURN(L.bo, bind.vector(blk(il, "attn_output.bias"), hp.n_embd, optional));
  POCKET_ASSIGN_OR_RETURN(L.ffn_norm, bind.vector(blk(il, "ffn_norm.weight"), hp.n_embd, required));
  if (a.fused_gate_up) {
    POCKET_ASSIGN_OR_RETURN(L.ffn_up, bind.matrix(blk(il, "ffn_up.weight"), hp.n_embd, 2 * hp.n_ff, required));
  } else {
    POCKET_ASSIGN_OR_RETURN(L.ffn_gate, bind.matrix(blk(il, "ffn_gate.weight"), hp.n_embd, hp.n_ff, required));
    POCKET_ASSIGN_OR_RETURN(L.ffn_up, bind.matrix(blk(il, "ffn_up.weight"), hp.n_embd, hp.n_ff, required));
  }
  POCKET_ASSIGN_OR_RETURN(L.ffn_down, bind.matrix(blk(il, "ffn_down.weight"), hp.n_ff, hp.n_embd, required));
  if (a.post_norms) {
    POCKET_ASSIGN_OR_RETURN(L.post_attn_norm,
                            bind.vector(blk(il, "post_attention_norm.weight"), hp.n_embd, required));
    POCKET_ASSIGN_OR_RETURN(L.post_ffn_norm, bind.vector(blk(il, "post_ffw_norm.weight"), hp.n_embd, required));
  }
  stack_fast_path(L.qkv_stacked, {&L.wq, &L.wk, &L.wv}, &repack_seconds_);
  stack_fast_path(L.gate_up_stacked, {&L.ffn_gate, &L.ffn_up}, &repack_seconds_);
  L.is_swa = hp.layer_is_swa(il);
  L.rope.style = a.rope_style;
  L.rope.n_rot = hp.n_rot;
  L.rope.freq_base = L.is_swa ? hp.rope_base_swa : hp.rope_base;
  // Gemma 3's linear rope scaling applies to its global layers only (llama.cpp: freq_scale_train_swa = 1).
  L.rope.freq_scale = (L.is_swa && a.swa_rope_base > 0) ? 1.0f : hp.rope_freq_scale;
  L.rope.freq_factors = weights_.rope_freqs.empty() ? nullptr : weights_.rope_freqs.data();
  return ok_status();
}

KvCache Model::make_cache(int64_t n_ctx, KvType type) const {
  if (n_ctx <= 0) n_ctx = hparams_.n_ctx_train;
  return KvCache(hparams_.n_layer, n_ctx, hparams_.n_head_kv, hparams_.head_dim_k, hparams_.head_dim_v, type);
}

}  // namespace pocket
