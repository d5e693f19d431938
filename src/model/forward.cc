// The one forward pass, for every architecture (wired by the ArchSpec row), in the manner of llama2.c's
// forward(): every buffer visible, shapes in comments. Matrices go through kernels::matmul (exact or fast path);
// all activations are f32. Intermediates are named as in llama.cpp's graphs and passed to the optional hook.
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
  const Hparams& hp = hparams_;
  const ModelWeights& w = weights_;
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t d = hp.n_embd;
  const int64_t pos0 = kv.n_past();
  if (n == 0) return bad_input("no tokens to evaluate");
  for (int64_t t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= hp.n_vocab) {
      return bad_input("token id {} (at index {}) is out of range: the vocabulary has {} tokens", tokens[t], t,
                       hp.n_vocab);
    }
  }
  POCKET_RETURN_IF_ERROR(kv.check_room(n));

  // x: the residual stream [n, n_embd]; xb: normed input of a block; block_out: a block's output.
  std::vector<float> x(n * d), xb(n * d), block_out(n * d);
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
    attention(il, xb.data(), n, pos0, kv, opt, block_out.data());
    if (arch_->post_norms) {
      rmsnorm_rows(block_out.data(), L.post_attn_norm, n, d, hp.norm_eps, block_out.data());
      emit(opt, "attn_post_norm", il, block_out, n);
    }
    for (int64_t i = 0; i < n * d; ++i) x[i] += block_out[i];
    emit(opt, "ffn_inp", il, x, n);

    // Feed-forward block: x += [post_norm](ffn(rmsnorm(x)))
    rmsnorm_rows(x.data(), L.ffn_norm, n, d, hp.norm_eps, xb.data());
    emit(opt, "ffn_norm", il, xb, n);
    feed_forward(il, xb.data(), n, opt, block_out.data());
    emit(opt, "ffn_out", il, block_out, n);
    if (arch_->post_norms) {
      rmsnorm_rows(block_out.data(), L.post_ffn_norm, n, d, hp.norm_eps, block_out.data());
      emit(opt, "ffn_post_norm", il, block_out, n);
    }
    for (int64_t i = 0; i < n * d; ++i) x[i] += block_out[i];
    emit(opt, "l_out", il, x, n);
  }
  kv.advance(n);

  // Output: logits [m, n_vocab] for the last token, or every token.
  const int64_t first = opt.all_logits ? 0 : n - 1;
  const int64_t m = n - first;
  std::vector<float> normed(m * d);
  rmsnorm_rows(x.data() + first * d, w.output_norm, m, d, hp.norm_eps, normed.data());
  emit(opt, "result_norm", -1, normed, m);
  logits.assign(static_cast<size_t>(m * hp.n_vocab), 0.0f);
  matmul(w.output, normed.data(), m, logits.data(), opt.path, opt.n_threads);
  if (hp.final_softcap > 0) kernels::softcap(logits.data(), m * hp.n_vocab, hp.final_softcap);
  emit(opt, "result_output", -1, logits, m);
  return ok_status();
}

// q [n, n_head·hd_k], k [n, n_kv·hd_k], v [n, n_kv·hd_v] = projections of x (fused or separate, plus biases).
void Model::project_qkv(int il, const float* x, int64_t n, const ForwardOptions& opt, std::vector<float>& q,
                        std::vector<float>& k, std::vector<float>& v) const {
  const LayerWeights& L = weights_.layers[il];
  const int64_t q_dim = static_cast<int64_t>(q.size()) / n, k_dim = static_cast<int64_t>(k.size()) / n;
  const int64_t v_dim = static_cast<int64_t>(v.size()) / n;
  if (L.wqkv.empty()) {
    matmul(L.wq, x, n, q.data(), opt.path, opt.n_threads);
    matmul(L.wk, x, n, k.data(), opt.path, opt.n_threads);
    matmul(L.wv, x, n, v.data(), opt.path, opt.n_threads);
    add_bias(q.data(), L.bq, n);
    add_bias(k.data(), L.bk, n);
    add_bias(v.data(), L.bv, n);
    return;
  }
  std::vector<float> qkv(n * (q_dim + k_dim + v_dim));  // [n, q | k | v]
  matmul(L.wqkv, x, n, qkv.data(), opt.path, opt.n_threads);
  for (int64_t t = 0; t < n; ++t) {
    const float* row = &qkv[t * (q_dim + k_dim + v_dim)];
    std::copy(row, row + q_dim, &q[t * q_dim]);
    std::copy(row + q_dim, row + q_dim + k_dim, &k[t * k_dim]);
    std::copy(row + q_dim + k_dim, row + q_dim + k_dim + v_dim, &v[t * v_dim]);
  }
}

// out[n, n_embd] = Wo · softmax(mask(Q·Kᵀ)) · V over the cache, after appending this batch's K/V.
void Model::attention(int il, const float* x, int64_t n, int64_t pos0, KvCache& kv, const ForwardOptions& opt,
                      float* out) const {
  const Hparams& hp = hparams_;
  const LayerWeights& L = weights_.layers[il];
  const int64_t hd = hp.head_dim_k, hdv = hp.head_dim_v;
  const int64_t q_dim = hp.n_head * hd, k_dim = hp.n_embd_k_gqa(), v_dim = hp.n_embd_v_gqa();
  std::vector<float> q(n * q_dim), k(n * k_dim), v(n * v_dim);  // [n, n_head·hd], [n, n_kv·hd], [n, n_kv·hdv]
  project_qkv(il, x, n, opt, q, k, v);
  if (!L.q_norm.empty()) {  // per-head RMS norms: rows of hd values
    rmsnorm_rows(q.data(), L.q_norm, n * hp.n_head, hd, hp.norm_eps, q.data());
    rmsnorm_rows(k.data(), L.k_norm, n * hp.n_head_kv, hd, hp.norm_eps, k.data());
  }
  std::vector<float> cs(hp.n_rot);  // rope cos/sin for one position
  for (int64_t t = 0; t < n; ++t) {
    kernels::rope_cache(L.rope, pos0 + t, cs.data());
    kernels::rope_apply(L.rope, cs.data(), &q[t * q_dim], static_cast<int>(hp.n_head), static_cast<int>(hd));
    kernels::rope_apply(L.rope, cs.data(), &k[t * k_dim], static_cast<int>(hp.n_head_kv), static_cast<int>(hd));
    kv.store(il, pos0 + t, &k[t * k_dim], &v[t * v_dim]);
  }
  emit(opt, "Qcur", il, q, n);
  emit(opt, "Kcur", il, k, n);
  emit(opt, "Vcur", il, v, n);

  // The whole cache for this layer, as f32: keys [n_keys, k_dim], values [n_keys, v_dim].
  const int64_t n_keys = pos0 + n;
  std::vector<float> k_scratch, v_scratch;
  const float* keys = kv.keys(il, n_keys, k_scratch);
  const float* values = kv.values(il, n_keys, v_scratch);
  const bool f16_cache = kv.type() == KvType::kF16;
  const bool q_prescaled = arch_->q_scale_before_softcap;
  const int64_t group = hp.n_head / hp.n_head_kv;  // query heads per KV head (GQA)
  std::vector<float> att(n * hp.n_head * hdv);     // [n, n_head·hdv]
  kernels::parallel_for(n * hp.n_head, opt.n_threads, n * hp.n_head * n_keys * (hd + hdv),
                        [&](int64_t begin, int64_t end) {
    std::vector<float> qh(hd), scores(n_keys);
    for (int64_t th = begin; th < end; ++th) {
      const int64_t t = th / hp.n_head, h = th % hp.n_head, kvh = h / group, pos = pos0 + t;
      std::copy(&q[t * q_dim + h * hd], &q[t * q_dim + h * hd] + hd, qh.begin());
      if (q_prescaled) {
        for (auto& e : qh) e *= hp.attn_scale;
      }
      if (f16_cache) kernels::round_to_f16(qh.data(), hd);  // ggml converts Q to f16 to meet an f16 K
      const float scale = q_prescaled ? 1.0f : hp.attn_scale;
      for (int64_t j = 0; j <= pos; ++j) {
        if (L.is_swa && pos - j >= hp.n_swa) {
          scores[j] = -std::numeric_limits<float>::infinity();
          continue;
        }
        float s = kernels::dot_f32(qh.data(), &keys[j * k_dim + kvh * hd], hd);
        if (hp.attn_softcap > 0) s = std::tanh(s / hp.attn_softcap) * hp.attn_softcap;
        scores[j] = s * scale;
      }
      kernels::softmax(scores.data(), pos + 1);
      if (f16_cache) kernels::round_to_f16(scores.data(), pos + 1);  // ... and the probabilities to meet V
      float* o = &att[t * hp.n_head * hdv + h * hdv];
      std::fill(o, o + hdv, 0.0f);
      for (int64_t j = 0; j <= pos; ++j) {
        const float p = scores[j];
        if (p == 0.0f) continue;
        const float* vj = &values[j * v_dim + kvh * hdv];
        for (int64_t i = 0; i < hdv; ++i) o[i] += p * vj[i];
      }
    }
  });
  emit(opt, "kqv_out", il, att, n);
  matmul(L.wo, att.data(), n, out, opt.path, opt.n_threads);
  add_bias(out, L.bo, n);
}

// out[n, n_embd] = W_down · (act(W_gate · x) ⊙ (W_up · x)).
void Model::feed_forward(int il, const float* x, int64_t n, const ForwardOptions& opt, float* out) const {
  const LayerWeights& L = weights_.layers[il];
  const int64_t n_ff = hparams_.n_ff;
  std::vector<float> gate(n * n_ff), up(n * n_ff);  // [n, n_ff] each
  if (L.ffn_gate.empty()) {                         // fused [gate | up] rows (phi3)
    std::vector<float> gate_up(n * 2 * n_ff);
    matmul(L.ffn_up, x, n, gate_up.data(), opt.path, opt.n_threads);
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
