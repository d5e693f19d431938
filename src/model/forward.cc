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

// The same for n rows of `width` values that are `stride` apart (a slice of a fused buffer): gathered into one
// [n, width] array only when a hook listens.
void emit_rows(const ForwardOptions& opt, std::string_view name, int layer, const float* rows, int64_t stride,
               int64_t width, int64_t n) {
  if (opt.hook == nullptr || !*opt.hook) return;
  std::vector<float> packed(static_cast<size_t>(n * width));
  for (int64_t t = 0; t < n; ++t) std::copy(rows + t * stride, rows + t * stride + width, &packed[t * width]);
  (*opt.hook)(name, layer, packed.data(), n, width);
}

// out[n, width] = rmsnorm of each row of x[n, width], times weight.
void rmsnorm_rows(const float* x, const std::vector<float>& weight, int64_t n, int64_t width, float eps,
                  float* out) {
  for (int64_t t = 0; t < n; ++t) kernels::rmsnorm(x + t * width, weight.data(), width, eps, out + t * width);
}

// Row t of x (stride floats apart) += bias[width] (no-op for an absent bias).
void add_bias(float* x, int64_t stride, const std::vector<float>& bias, int64_t n) {
  const int64_t width = static_cast<int64_t>(bias.size());
  for (int64_t t = 0; t < n && width > 0; ++t) {
    for (int64_t i = 0; i < width; ++i) x[t * stride + i] += bias[i];
  }
}
void add_bias(float* x, const std::vector<float>& bias, int64_t n) {
  add_bias(x, static_cast<int64_t>(bias.size()), bias, n);
}

// out[hdv] = sum_j p[j] * v[j * v_stride ..] for j < n, in order (zero weights skipped): the reference path.
void weighted_sum_reference(const float* p, const float* v, int64_t v_stride, int64_t n, int64_t hdv, float* out) {
  std::fill(out, out + hdv, 0.0f);
  for (int64_t j = 0; j < n; ++j) {
    if (p[j] == 0.0f) continue;
    const float* vj = v + j * v_stride;
    for (int64_t i = 0; i < hdv; ++i) out[i] += p[j] * vj[i];
  }
}

// What turns one query row's raw scores into attention probabilities.
struct ScoreRule {
  int64_t window;   // sliding window (keys with pos - j >= window are masked), or -1
  float softcap;    // tanh soft cap (0: none)
  float scale;      // applied after the cap (1 when Q was prescaled)
};

// scores[0..pos] = softmax(scale · softcap(raw)) with the window mask; rounded through f16 to meet an f16 V cache
// (as ggml does).
void scores_to_probabilities(const ScoreRule& rule, int64_t pos, bool fast, bool f16_cache, float* scores) {
  for (int64_t j = 0; j <= pos; ++j) {
    if (rule.window >= 0 && pos - j >= rule.window) {
      scores[j] = -std::numeric_limits<float>::infinity();
      continue;
    }
    float x = scores[j];
    if (rule.softcap > 0) x = std::tanh(x / rule.softcap) * rule.softcap;
    scores[j] = x * rule.scale;
  }
  if (fast) {
    kernels::softmax_fast(scores, pos + 1);
  } else {
    kernels::softmax(scores, pos + 1);
  }
  if (f16_cache) kernels::round_to_f16(scores, pos + 1);
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
Model::QkvRows Model::project_qkv(int il, const float* x, int64_t n, const ForwardOptions& opt,
                                  Scratch& scratch) const {
  const Hparams& hp = hparams_;
  const LayerWeights& L = weights_.layers[il];
  const int64_t q_dim = hp.n_head * hp.head_dim_k, k_dim = hp.n_embd_k_gqa(), v_dim = hp.n_embd_v_gqa();
  const bool fast = opt.path == kernels::MatmulPath::kFast;
  const WeightView* fused = !L.wqkv.empty()                        ? &L.wqkv
                            : fast && !L.qkv_stacked.empty()       ? &L.qkv_stacked
                                                                   : nullptr;
  QkvRows r;
  if (fused == nullptr) {
    scratch.q.resize(n * q_dim);
    scratch.k.resize(n * k_dim);
    scratch.v.resize(n * v_dim);
    matmul(L.wq, x, n, scratch.q.data(), opt.path, opt.n_threads);
    matmul(L.wk, x, n, scratch.k.data(), opt.path, opt.n_threads);
    matmul(L.wv, x, n, scratch.v.data(), opt.path, opt.n_threads);
    r = {scratch.q.data(), scratch.k.data(), scratch.v.data(), q_dim, k_dim, v_dim};
  } else {
    const int64_t width = q_dim + k_dim + v_dim;  // [n, q | k | v], used in place
    scratch.qkv.resize(n * width);
    matmul(*fused, x, n, scratch.qkv.data(), opt.path, opt.n_threads);
    float* row0 = scratch.qkv.data();
    r = {row0, row0 + q_dim, row0 + q_dim + k_dim, width, width, width};
  }
  add_bias(r.q, r.stride_q, L.bq, n);  // (absent for fused-qkv architectures)
  add_bias(r.k, r.stride_k, L.bk, n);
  add_bias(r.v, r.stride_v, L.bv, n);
  return r;
}

// out[n, n_embd] = Wo · softmax(mask(Q·Kᵀ)) · V, each sequence over its own cache, after appending the batch's
// K/V to the caches.
void Model::attention(int il, const float* x, std::span<const SeqRows> seqs, int64_t n, const ForwardOptions& opt,
                      Scratch& scratch, float* out) const {
  const Hparams& hp = hparams_;
  const LayerWeights& L = weights_.layers[il];
  const int64_t hd = hp.head_dim_k, hdv = hp.head_dim_v;
  const int64_t q_dim = hp.n_head * hd, k_dim = hp.n_embd_k_gqa(), v_dim = hp.n_embd_v_gqa();
  const QkvRows r = project_qkv(il, x, n, opt, scratch);
  if (!L.q_norm.empty()) {  // per-head RMS norms: rows of hd values
    for (int64_t t = 0; t < n; ++t) {
      float* qt = r.q + t * r.stride_q;
      float* kt = r.k + t * r.stride_k;
      rmsnorm_rows(qt, L.q_norm, hp.n_head, hd, hp.norm_eps, qt);
      rmsnorm_rows(kt, L.k_norm, hp.n_head_kv, hd, hp.norm_eps, kt);
    }
  }
  std::vector<float> cs(hp.n_rot);  // rope cos/sin for one position
  for (const SeqRows& s : seqs) {
    for (int64_t t = s.row0; t < s.row0 + s.n; ++t) {
      const int64_t pos = s.pos0 + (t - s.row0);
      float* qt = r.q + t * r.stride_q;
      float* kt = r.k + t * r.stride_k;
      kernels::rope_cache(L.rope, pos, cs.data());
      kernels::rope_apply(L.rope, cs.data(), qt, static_cast<int>(hp.n_head), static_cast<int>(hd));
      kernels::rope_apply(L.rope, cs.data(), kt, static_cast<int>(hp.n_head_kv), static_cast<int>(hd));
      s.kv->store(il, pos, kt, r.v + t * r.stride_v);
    }
  }
  emit_rows(opt, "Qcur", il, r.q, r.stride_q, q_dim, n);
  emit_rows(opt, "Kcur", il, r.k, r.stride_k, k_dim, n);
  emit_rows(opt, "Vcur", il, r.v, r.stride_v, v_dim, n);
  std::vector<float>& att = scratch.att;  // [n, n_head·hdv]
  att.resize(n * hp.n_head * hdv);
  attend(il, r.q, r.stride_q, seqs, opt, att);
  emit(opt, "kqv_out", il, att, n);
  matmul(L.wo, att.data(), n, out, opt.path, opt.n_threads);
  add_bias(out, L.bo, n);
}

// att[n, n_head·hdv] = softmax(mask(Q·Kᵀ)) · V per (row, head), each row against its own sequence's cache
// (positions [0, pos] with causal and sliding-window masks). Work items are (head, block of up to kQueryBlock
// consecutive rows of one sequence): on the fast path a block's rows share every K/V row load
// (kernels::dot_rows_multi_f32 / weighted_rows_multi_f32); the reference path runs its rows one at a time.
void Model::attend(int il, const float* q, int64_t q_stride, std::span<const SeqRows> seqs,
                   const ForwardOptions& opt, std::vector<float>& att) const {
  constexpr int64_t kQueryBlock = 16;
  const Hparams& hp = hparams_;
  const LayerWeights& L = weights_.layers[il];
  const int64_t hd = hp.head_dim_k, hdv = hp.head_dim_v;
  // Each sequence's cache for this layer as f32 (views of an f32 cache; an f16 cache is converted), except that
  // on the fast path a one-row sequence (a decode step) reads an f16 cache in place (keys16 / values16):
  // converting its whole cache per layer per token would cost more than the attention itself. One head's rows
  // are hd (hdv) values apart (model/kv_cache.h).
  std::vector<std::vector<float>> k_scratch(seqs.size()), v_scratch(seqs.size());
  std::vector<KvRows<float>> keys(seqs.size()), values(seqs.size());
  std::vector<KvRows<uint16_t>> keys16(seqs.size()), values16(seqs.size());
  const bool fast = opt.path == kernels::MatmulPath::kFast;  // SIMD dot / softmax / axpy (kernels/ops.h)
  struct Block {
    size_t seq;
    int64_t t0, nq;  // batch rows [t0, t0 + nq)
  };
  std::vector<Block> blocks;
  int64_t max_keys = 0, total_work = 0;
  for (size_t s = 0; s < seqs.size(); ++s) {
    const int64_t n_keys = seqs[s].pos0 + seqs[s].n;
    if (fast && seqs[s].n == 1 && seqs[s].kv->type() == KvType::kF16) {
      keys16[s] = seqs[s].kv->keys_f16(il);
      values16[s] = seqs[s].kv->values_f16(il);
    } else {
      keys[s] = seqs[s].kv->keys(il, n_keys, k_scratch[s]);
      values[s] = seqs[s].kv->values(il, n_keys, v_scratch[s]);
    }
    for (int64_t t0 = seqs[s].row0; t0 < seqs[s].row0 + seqs[s].n; t0 += kQueryBlock) {
      blocks.push_back({s, t0, std::min(kQueryBlock, seqs[s].row0 + seqs[s].n - t0)});
    }
    max_keys = std::max(max_keys, n_keys);
    total_work += seqs[s].n * hp.n_head * n_keys * (hd + hdv);
  }
  const bool q_prescaled = arch_->q_scale_before_softcap;
  const ScoreRule score_rule{L.is_swa ? hp.n_swa : -1, hp.attn_softcap, q_prescaled ? 1.0f : hp.attn_scale};
  const int64_t group = hp.n_head / hp.n_head_kv;  // query heads per KV head (GQA)
  const int64_t n_blocks = static_cast<int64_t>(blocks.size());
  const int64_t att_stride = hp.n_head * hdv;
  // Requests the K (or V) rows item `item` reads into L2: its head's rows [0, n_keys) of its sequence's cache.
  auto prefetch_item = [&](int64_t item, bool want_values) {
    const int64_t kvh = item / n_blocks / group;
    const Block& b = blocks[item % n_blocks];
    const SeqRows& s = seqs[b.seq];
    const int64_t n_keys = s.pos0 + (b.t0 - s.row0) + b.nq;
    const int64_t width = want_values ? hdv : hd;
    if (keys16[b.seq].data != nullptr) {
      kernels::prefetch_to_l2((want_values ? values16 : keys16)[b.seq].head(kvh), n_keys * width * 2);
    } else {
      kernels::prefetch_to_l2((want_values ? values : keys)[b.seq].head(kvh), n_keys * width * 4);
    }
  };
  kernels::parallel_for(n_blocks * hp.n_head, opt.n_threads, total_work, [&](int64_t begin, int64_t end) {
    // qb: the block's query rows of one head [nq, hd]; sc: their scores [nq, max_keys].
    std::vector<float> qb(kQueryBlock * hd), sc(kQueryBlock * max_keys);
    for (int64_t item = begin; item < end; ++item) {
      // Each item's K/V rows are a few KiB in a place of their own, too short a stream for the hardware
      // prefetcher to pick up in time: as this item starts, the next item's keys are requested; once this item's
      // scores are done, the next item's values (decode-step attention microbenchmark, 8 sequences x 70 keys,
      // f16: 1.06-1.42 ms per step against 1.47-1.57 without, and 1.37-1.40 asking for both at the start).
      const bool prefetch_next = fast && item + 1 < end;
      if (prefetch_next) prefetch_item(item + 1, false);
      // Head-major order: consecutive items share one head's K/V rows (n_keys x hd floats), which then stay in
      // L2 instead of streaming every head's cache from L3 for every block.
      const int64_t h = item / n_blocks, kvh = h / group;
      const Block& b = blocks[item % n_blocks];
      const SeqRows& s = seqs[b.seq];
      const bool in_place_f16 = keys16[b.seq].data != nullptr;  // one row (see above)
      const float* k = in_place_f16 ? nullptr : keys[b.seq].head(kvh);
      const float* v = in_place_f16 ? nullptr : values[b.seq].head(kvh);
      const int64_t pos0 = s.pos0 + (b.t0 - s.row0);  // position of the block's first row
      const int64_t n_keys = pos0 + b.nq;               // keys the last row sees
      const bool f16_cache = s.kv->type() == KvType::kF16;
      for (int64_t r = 0; r < b.nq; ++r) {
        float* qr = &qb[r * hd];
        std::copy(q + (b.t0 + r) * q_stride + h * hd, q + (b.t0 + r) * q_stride + (h + 1) * hd, qr);
        if (q_prescaled) {
          for (int64_t i = 0; i < hd; ++i) qr[i] *= hp.attn_scale;
        }
        if (f16_cache) kernels::round_to_f16(qr, hd);  // ggml converts Q to f16 to meet an f16 K
      }
      // Raw scores [nq, n_keys] (row r is valid up to its position pos0 + r), then per row the probabilities.
      if (in_place_f16) {
        kernels::dot_rows_f16(qb.data(), keys16[b.seq].head(kvh), hd, n_keys, hd, sc.data());
      } else if (fast) {
        kernels::dot_rows_multi_f32(qb.data(), hd, b.nq, k, hd, n_keys, hd, sc.data(), max_keys);
      } else {
        for (int64_t r = 0; r < b.nq; ++r) {
          for (int64_t j = 0; j <= pos0 + r; ++j) sc[r * max_keys + j] = kernels::dot_f32(&qb[r * hd], k + j * hd, hd);
        }
      }
      if (prefetch_next) prefetch_item(item + 1, true);
      for (int64_t r = 0; r < b.nq; ++r) {
        const int64_t pos = pos0 + r;
        float* scores = &sc[r * max_keys];
        scores_to_probabilities(score_rule, pos, fast, f16_cache, scores);
        std::fill(scores + pos + 1, scores + n_keys, 0.0f);  // keys after this row's position
        if (!fast) weighted_sum_reference(scores, v, hdv, pos + 1, hdv, &att[(b.t0 + r) * att_stride + h * hdv]);
      }
      float* out = &att[b.t0 * att_stride + h * hdv];
      if (in_place_f16) {
        kernels::weighted_rows_f16(sc.data(), values16[b.seq].head(kvh), hdv, n_keys, hdv, out);
      } else if (fast) {
        kernels::weighted_rows_multi_f32(sc.data(), max_keys, b.nq, v, hdv, n_keys, hdv, out, att_stride);
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
  gate.resize(n * n_ff);
  auto activate = [&](const float* g, const float* u, int64_t count, float* h) {  // h = act(g) ⊙ u
    if (arch_->activation == FfnActivation::kGelu) {
      kernels::geglu(g, u, count, h);
    } else if (opt.path == kernels::MatmulPath::kFast) {
      kernels::swiglu_fast(g, u, count, h);
    } else {
      kernels::swiglu(g, u, count, h);
    }
  };
  std::vector<float>& hidden = gate;  // act(gate) ⊙ up: [n, n_ff]
  // [gate | up] rows in one matrix: stored fused (phi3), or stacked at load for the fast path.
  const WeightView* fused = L.ffn_gate.empty()                                                ? &L.ffn_up
                            : opt.path == kernels::MatmulPath::kFast && !L.gate_up_stacked.empty() ? &L.gate_up_stacked
                                                                                                   : nullptr;
  if (fused != nullptr) {
    std::vector<float>& gate_up = scratch.gate_up;  // [n, gate | up], activated row by row without a copy
    gate_up.resize(n * 2 * n_ff);
    matmul(*fused, x, n, gate_up.data(), opt.path, opt.n_threads);
    for (int64_t t = 0; t < n; ++t) {
      const float* row = &gate_up[t * 2 * n_ff];
      activate(row, row + n_ff, n_ff, &hidden[t * n_ff]);
    }
  } else {
    std::vector<float>& up = scratch.up;  // [n, n_ff]
    up.resize(n * n_ff);
    matmul(L.ffn_gate, x, n, gate.data(), opt.path, opt.n_threads);
    matmul(L.ffn_up, x, n, up.data(), opt.path, opt.n_threads);
    activate(gate.data(), up.data(), n * n_ff, hidden.data());
  }
  emit(opt, "ffn_act", il, hidden, n);
  matmul(L.ffn_down, hidden.data(), n, out, opt.path, opt.n_threads);
}

}  // namespace pocket
