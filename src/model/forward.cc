// The one forward pass, for every architecture (wired by the ArchSpec row), in the manner of llama2.c's
// forward(): every buffer visible, shapes in comments. Matrices go through kernels::matmul (exact or fast path);
// all activations are f32. Intermediates are named as in llama.cpp's graphs and passed to the optional hook.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/parallel.h"
#include "model/model.h"

namespace pocket {

using kernels::matmul;

namespace {

void emit(const ForwardOptions& opt, std::string_view name, int layer, const std::vector<float>& data,
          int64_t n_tokens) {
  if (opt.hook != nullptr && *opt.hook) {
    (*opt.hook)(name, layer, data.data(), n_tokens, static_cast<int64_t>(data.size()) / n_tokens);
  }
}

// out[n, width] = rmsnorm of each row of x[n, width], times weight.
void rmsnorm_rows(const float* x, const std::vector<float>& weight, int64_t n, int64_t width, float eps,
                  float* out) {
  for (int64_t t = 0; t < n; ++t) kernels::rmsnorm(x + t * width, weight.data(), width, eps, out + t * width);
}

// x[n, width] += bias[width] (no-op for an absent bias).
void add_bias(float* x, const std::vector<float>& bias, int64_t n) {
  const int64_t width = static_cast<int64_t>(bias.size());
  for (int64_t t = 0; t < n && width > 0; ++t) {
    for (int64_t i = 0; i < width; ++i) x[t * width + i] += bias[i];
  }
}

}  // namespace

Status Model::forward(std::span<const int32_t> tokens, KvCache& kv, const ForwardOptions& opt,
                      std::vector<float>& logits) const {
  const SequenceBatch one{tokens, &kv};
  return forward_batch(std::span(&one, 1), opt, logits);
}

namespace {

// Checks every sequence of a batch before anything changes: non-empty, token ids in range, room in its cache,
// no cache shared by two sequences.
Status check_batch(std::span<const SequenceBatch> seqs, int64_t n_vocab) {
  if (seqs.empty()) return bad_input("no tokens to evaluate");
  for (size_t s = 0; s < seqs.size(); ++s) {
    const SequenceBatch& b = seqs[s];
    if (b.tokens.empty() || b.kv == nullptr) return bad_input("no tokens to evaluate (sequence {})", s);
    for (size_t t = 0; t < b.tokens.size(); ++t) {
      if (b.tokens[t] < 0 || b.tokens[t] >= n_vocab) {
        return bad_input("token id {} (at index {}) is out of range: the vocabulary has {} tokens", b.tokens[t],
                         t, n_vocab);
      }
    }
    POCKET_RETURN_IF_ERROR(b.kv->check_room(static_cast<int64_t>(b.tokens.size())));
    for (size_t o = 0; o < s; ++o) {
      if (seqs[o].kv == b.kv) return bad_input("sequences {} and {} of a batch share one KV cache", o, s);
    }
  }
  return ok_status();
}

}  // namespace

// Activation buffers of one forward call, sized on first use and reused by every layer (same sizes each layer).
struct Model::Scratch {
  std::vector<float> q, k, v;   // [n, n_head·hd], [n, n_kv·hd], [n, n_kv·hdv]
  std::vector<float> qkv;       // fused projections [n, q | k | v]
  std::vector<float> att;       // [n, n_head·hdv]
  std::vector<float> gate, up;  // [n, n_ff] each
  std::vector<float> gate_up;   // fused [n, 2·n_ff]
};

Status Model::forward_batch(std::span<const SequenceBatch> batch, const ForwardOptions& opt,
                            std::vector<float>& logits) const {
  const Hparams& hp = hparams_;
  const ModelWeights& w = weights_;
  const int64_t d = hp.n_embd;
  POCKET_RETURN_IF_ERROR(check_batch(batch, hp.n_vocab));
  // The batch's rows: every sequence's tokens, one after another; out_rows: the rows whose logits are returned.
  std::vector<SeqRows> seqs;
  std::vector<int32_t> tokens;
  std::vector<int64_t> out_rows;
  for (const SequenceBatch& b : batch) {
    const int64_t row0 = static_cast<int64_t>(tokens.size()), n_s = static_cast<int64_t>(b.tokens.size());
    seqs.push_back({row0, n_s, b.kv->n_past(), b.kv});
    tokens.insert(tokens.end(), b.tokens.begin(), b.tokens.end());
    for (int64_t r = opt.all_logits ? row0 : row0 + n_s - 1; r < row0 + n_s; ++r) out_rows.push_back(r);
  }
  const int64_t n = static_cast<int64_t>(tokens.size());

  // x: the residual stream [n, n_embd]; xb: normed input of a block; block_out: a block's output.
  std::vector<float> x(n * d), xb(n * d), block_out(n * d);
  Scratch scratch;
  const float embd_scale = arch_->scale_embeddings ? std::sqrt(static_cast<float>(d)) : 1.0f;
  for (int64_t t = 0; t < n; ++t) {
    kernels::dequant_row(w.token_embd, tokens[t], &x[t * d]);
    if (embd_scale != 1.0f) {
      for (int64_t i = 0; i < d; ++i) x[t * d + i] *= embd_scale;
    }
  }
  emit(opt, "inp_embd", -1, x, n);

  for (int il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& L = w.layers[il];
    // Attention block: x += [post_norm](attention(rmsnorm(x)))
    rmsnorm_rows(x.data(), L.attn_norm, n, d, hp.norm_eps, xb.data());
    emit(opt, "attn_norm", il, xb, n);
    attention(il, xb.data(), seqs, n, opt, scratch, block_out.data());
    if (arch_->post_norms) {
      rmsnorm_rows(block_out.data(), L.post_attn_norm, n, d, hp.norm_eps, block_out.data());
      emit(opt, "attn_post_norm", il, block_out, n);
    }
    for (int64_t i = 0; i < n * d; ++i) x[i] += block_out[i];
    emit(opt, "ffn_inp", il, x, n);

    // Feed-forward block: x += [post_norm](ffn(rmsnorm(x)))
    rmsnorm_rows(x.data(), L.ffn_norm, n, d, hp.norm_eps, xb.data());
    emit(opt, "ffn_norm", il, xb, n);
    feed_forward(il, xb.data(), n, opt, scratch, block_out.data());
    emit(opt, "ffn_out", il, block_out, n);
    if (arch_->post_norms) {
      rmsnorm_rows(block_out.data(), L.post_ffn_norm, n, d, hp.norm_eps, block_out.data());
      emit(opt, "ffn_post_norm", il, block_out, n);
    }
    for (int64_t i = 0; i < n * d; ++i) x[i] += block_out[i];
    emit(opt, "l_out", il, x, n);
  }
  for (const SeqRows& s : seqs) s.kv->advance(s.n);

  // Output: logits [m, n_vocab] for the selected rows.
  const int64_t m = static_cast<int64_t>(out_rows.size());
  std::vector<float> normed(m * d);
  for (int64_t r = 0; r < m; ++r) {
    kernels::rmsnorm(&x[out_rows[r] * d], w.output_norm.data(), d, hp.norm_eps, &normed[r * d]);
  }
  emit(opt, "result_norm", -1, normed, m);
  logits.resize(static_cast<size_t>(m * hp.n_vocab));  // every element is written by the matmul
  matmul(w.output, normed.data(), m, logits.data(), opt.path, opt.n_threads);
  if (hp.final_softcap > 0) kernels::softcap(logits.data(), m * hp.n_vocab, hp.final_softcap);
  emit(opt, "result_output", -1, logits, m);
  return ok_status();
}

// q [n, n_head·hd_k], k [n, n_kv·hd_k], v [n, n_kv·hd_v] = projections of x (fused or separate, plus biases).
void Model::project_qkv(int il, const float* x, int64_t n, const ForwardOptions& opt, Scratch& scratch) const {
  std::vector<float>& q = scratch.q;
  std::vector<float>& k = scratch.k;
  std::vector<float>& v = scratch.v;
  const LayerWeights& L = weights_.layers[il];
  const int64_t q_dim = static_cast<int64_t>(q.size()) / n, k_dim = static_cast<int64_t>(k.size()) / n;
  const int64_t v_dim = static_cast<int64_t>(v.size()) / n;
  const bool fast = opt.path == kernels::MatmulPath::kFast;
  const WeightView* fused = !L.wqkv.empty()                        ? &L.wqkv
                            : fast && !L.qkv_stacked.empty()       ? &L.qkv_stacked
                                                                   : nullptr;
  if (fused == nullptr) {
    matmul(L.wq, x, n, q.data(), opt.path, opt.n_threads);
    matmul(L.wk, x, n, k.data(), opt.path, opt.n_threads);
    matmul(L.wv, x, n, v.data(), opt.path, opt.n_threads);
  } else {
    std::vector<float>& qkv = scratch.qkv;  // [n, q | k | v]
    qkv.resize(n * (q_dim + k_dim + v_dim));
    matmul(*fused, x, n, qkv.data(), opt.path, opt.n_threads);
    for (int64_t t = 0; t < n; ++t) {
      const float* row = &qkv[t * (q_dim + k_dim + v_dim)];
      std::copy(row, row + q_dim, &q[t * q_dim]);
      std::copy(row + q_dim, row + q_dim + k_dim, &k[t * k_dim]);
      std::copy(row + q_dim + k_dim, row + q_dim + k_dim + v_dim, &v[t * v_dim]);
    }
  }
  add_bias(q.data(), L.bq, n);  // (absent for fused-qkv architectures)
  add_bias(k.data(), L.bk, n);
  add_bias(v.data(), L.bv, n);
}

// out[n, n_embd] = Wo · softmax(mask(Q·Kᵀ)) · V, each sequence over its own cache, after appending the batch's
// K/V to the caches.
void Model::attention(int il, const float* x, std::span<const SeqRows> seqs, int64_t n, const ForwardOptions& opt,
                      Scratch& scratch, float* out) const {
  const Hparams& hp = hparams_;
  const LayerWeights& L = weights_.layers[il];
  const int64_t hd = hp.head_dim_k, hdv = hp.head_dim_v;
  const int64_t q_dim = hp.n_head * hd, k_dim = hp.n_embd_k_gqa(), v_dim = hp.n_embd_v_gqa();
  std::vector<float>& q = scratch.q;
  std::vector<float>& k = scratch.k;
  std::vector<float>& v = scratch.v;
  q.resize(n * q_dim);
  k.resize(n * k_dim);
  v.resize(n * v_dim);
  project_qkv(il, x, n, opt, scratch);
  if (!L.q_norm.empty()) {  // per-head RMS norms: rows of hd values
    rmsnorm_rows(q.data(), L.q_norm, n * hp.n_head, hd, hp.norm_eps, q.data());
    rmsnorm_rows(k.data(), L.k_norm, n * hp.n_head_kv, hd, hp.norm_eps, k.data());
  }
  std::vector<float> cs(hp.n_rot);  // rope cos/sin for one position
  for (const SeqRows& s : seqs) {
    for (int64_t t = s.row0; t < s.row0 + s.n; ++t) {
      const int64_t pos = s.pos0 + (t - s.row0);
      kernels::rope_cache(L.rope, pos, cs.data());
      kernels::rope_apply(L.rope, cs.data(), &q[t * q_dim], static_cast<int>(hp.n_head), static_cast<int>(hd));
      kernels::rope_apply(L.rope, cs.data(), &k[t * k_dim], static_cast<int>(hp.n_head_kv), static_cast<int>(hd));
      s.kv->store(il, pos, &k[t * k_dim], &v[t * v_dim]);
    }
  }
  emit(opt, "Qcur", il, q, n);
  emit(opt, "Kcur", il, k, n);
  emit(opt, "Vcur", il, v, n);
  std::vector<float>& att = scratch.att;  // [n, n_head·hdv]
  att.resize(n * hp.n_head * hdv);
  attend(il, q, seqs, n, opt, att);
  emit(opt, "kqv_out", il, att, n);
  matmul(L.wo, att.data(), n, out, opt.path, opt.n_threads);
  add_bias(out, L.bo, n);
}

// att[n, n_head·hdv] = softmax(mask(Q·Kᵀ)) · V per (row, head), each row against its own sequence's cache
// (positions [0, pos] with causal and sliding-window masks). Work items are (row, head) pairs over the batch.
void Model::attend(int il, const std::vector<float>& q, std::span<const SeqRows> seqs, int64_t n,
                   const ForwardOptions& opt, std::vector<float>& att) const {
  const Hparams& hp = hparams_;
  const LayerWeights& L = weights_.layers[il];
  const int64_t hd = hp.head_dim_k, hdv = hp.head_dim_v;
  const int64_t q_dim = hp.n_head * hd, k_dim = hp.n_embd_k_gqa(), v_dim = hp.n_embd_v_gqa();
  // Each sequence's cache for this layer as f32 (pointers into an f32 cache; an f16 cache is converted).
  std::vector<std::vector<float>> k_scratch(seqs.size()), v_scratch(seqs.size());
  std::vector<const float*> keys(seqs.size()), values(seqs.size());
  std::vector<int64_t> seq_of_row(n);
  int64_t max_keys = 0, total_work = 0;
  for (size_t s = 0; s < seqs.size(); ++s) {
    const int64_t n_keys = seqs[s].pos0 + seqs[s].n;
    keys[s] = seqs[s].kv->keys(il, n_keys, k_scratch[s]);
    values[s] = seqs[s].kv->values(il, n_keys, v_scratch[s]);
    std::fill(seq_of_row.begin() + seqs[s].row0, seq_of_row.begin() + seqs[s].row0 + seqs[s].n,
              static_cast<int64_t>(s));
    max_keys = std::max(max_keys, n_keys);
    total_work += seqs[s].n * hp.n_head * n_keys * (hd + hdv);
  }
  const bool q_prescaled = arch_->q_scale_before_softcap;
  const int64_t group = hp.n_head / hp.n_head_kv;  // query heads per KV head (GQA)
  const bool fast = opt.path == kernels::MatmulPath::kFast;  // SIMD dot / softmax / axpy (kernels/ops.h)
  kernels::parallel_for(n * hp.n_head, opt.n_threads, total_work, [&](int64_t begin, int64_t end) {
    std::vector<float> qh(hd), scores(max_keys);
    for (int64_t th = begin; th < end; ++th) {
      // Head-major order: consecutive items share one head's K/V rows (n_keys x hd floats), which then stay in
      // L2 instead of streaming every head's cache from L3 for every row.
      const int64_t h = th / n, t = th % n, kvh = h / group;
      const SeqRows& s = seqs[seq_of_row[t]];
      const float* seq_keys = keys[seq_of_row[t]];
      const float* seq_values = values[seq_of_row[t]];
      const int64_t pos = s.pos0 + (t - s.row0);
      const bool f16_cache = s.kv->type() == KvType::kF16;
      std::copy(&q[t * q_dim + h * hd], &q[t * q_dim + h * hd] + hd, qh.begin());
      if (q_prescaled) {
        for (auto& e : qh) e *= hp.attn_scale;
      }
      if (f16_cache) kernels::round_to_f16(qh.data(), hd);  // ggml converts Q to f16 to meet an f16 K
      const float scale = q_prescaled ? 1.0f : hp.attn_scale;
      if (fast) kernels::dot_rows_f32(qh.data(), &seq_keys[kvh * hd], k_dim, pos + 1, hd, scores.data());
      for (int64_t j = 0; j <= pos; ++j) {
        if (L.is_swa && pos - j >= hp.n_swa) {
          scores[j] = -std::numeric_limits<float>::infinity();
          continue;
        }
        float sc = fast ? scores[j] : kernels::dot_f32(qh.data(), &seq_keys[j * k_dim + kvh * hd], hd);
        if (hp.attn_softcap > 0) sc = std::tanh(sc / hp.attn_softcap) * hp.attn_softcap;
        scores[j] = sc * scale;
      }
      if (fast) {
        kernels::softmax_fast(scores.data(), pos + 1);
      } else {
        kernels::softmax(scores.data(), pos + 1);
      }
      if (f16_cache) kernels::round_to_f16(scores.data(), pos + 1);  // ... and the probabilities to meet V
      float* o = &att[t * hp.n_head * hdv + h * hdv];
      if (fast) {
        kernels::weighted_rows_f32(scores.data(), &seq_values[kvh * hdv], v_dim, pos + 1, hdv, o);
        continue;
      }
      std::fill(o, o + hdv, 0.0f);
      for (int64_t j = 0; j <= pos; ++j) {
        const float p = scores[j];
        if (p == 0.0f) continue;
        const float* vj = &seq_values[j * v_dim + kvh * hdv];
        for (int64_t i = 0; i < hdv; ++i) o[i] += p * vj[i];
      }
    }
  });
}

// out[n, n_embd] = W_down · (act(W_gate · x) ⊙ (W_up · x)).
void Model::feed_forward(int il, const float* x, int64_t n, const ForwardOptions& opt, Scratch& scratch,
                         float* out) const {
  const LayerWeights& L = weights_.layers[il];
  const int64_t n_ff = hparams_.n_ff;
  std::vector<float>& gate = scratch.gate;  // [n, n_ff]
  std::vector<float>& up = scratch.up;      // [n, n_ff]
  gate.resize(n * n_ff);
  up.resize(n * n_ff);
  // [gate | up] rows in one matrix: stored fused (phi3), or stacked at load for the fast path.
  const WeightView* fused = L.ffn_gate.empty()                                                ? &L.ffn_up
                            : opt.path == kernels::MatmulPath::kFast && !L.gate_up_stacked.empty() ? &L.gate_up_stacked
                                                                                                   : nullptr;
  if (fused != nullptr) {
    std::vector<float>& gate_up = scratch.gate_up;
    gate_up.resize(n * 2 * n_ff);
    matmul(*fused, x, n, gate_up.data(), opt.path, opt.n_threads);
    for (int64_t t = 0; t < n; ++t) {
      const float* row = &gate_up[t * 2 * n_ff];
      std::copy(row, row + n_ff, &gate[t * n_ff]);
      std::copy(row + n_ff, row + 2 * n_ff, &up[t * n_ff]);
    }
  } else {
    matmul(L.ffn_gate, x, n, gate.data(), opt.path, opt.n_threads);
    matmul(L.ffn_up, x, n, up.data(), opt.path, opt.n_threads);
  }
  std::vector<float>& hidden = gate;  // act(gate) ⊙ up, in place: [n, n_ff]
  if (arch_->activation == FfnActivation::kGelu) {
    kernels::geglu(gate.data(), up.data(), n * n_ff, hidden.data());
  } else {
    kernels::swiglu(gate.data(), up.data(), n * n_ff, hidden.data());
  }
  emit(opt, "ffn_act", il, hidden, n);
  matmul(L.ffn_down, hidden.data(), n, out, opt.path, opt.n_threads);
}

}  // namespace pocket
