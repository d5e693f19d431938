// Hyperparameters of a model, read from GGUF metadata keys "{arch}.*" (llama.cpp's names).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "format/gguf.h"
#include "model/arch.h"

namespace pocket {

struct Hparams {
  int64_t n_vocab = 0;        // rows of token_embd.weight (checked against tokenizer.ggml.tokens when present)
  int64_t n_embd = 0;         // {arch}.embedding_length
  int64_t n_layer = 0;        // {arch}.block_count
  int64_t n_head = 0;         // {arch}.attention.head_count
  int64_t n_head_kv = 0;      // {arch}.attention.head_count_kv (default n_head)
  int64_t head_dim_k = 0;     // {arch}.attention.key_length (default n_embd / n_head)
  int64_t head_dim_v = 0;     // {arch}.attention.value_length (default head_dim_k)
  int64_t n_ff = 0;           // {arch}.feed_forward_length
  int64_t n_ctx_train = 0;    // {arch}.context_length
  int n_rot = 0;              // {arch}.rope.dimension_count (default head_dim_k)
  float rope_base = 10000.0f;      // {arch}.rope.freq_base
  float rope_base_swa = 10000.0f;  // {arch}.rope.freq_base_swa, else the ArchSpec's local base, else rope_base
  float rope_freq_scale = 1.0f;    // 1 / {arch}.rope.scaling.factor for linear scaling
  float norm_eps = 1e-5f;          // {arch}.attention.layer_norm_rms_epsilon
  int64_t n_swa = 0;               // {arch}.attention.sliding_window (0: none)
  float attn_softcap = 0.0f;       // {arch}.attn_logit_softcapping (0: off)
  float final_softcap = 0.0f;      // {arch}.final_logit_softcapping (0: off)
  float attn_scale = 0.0f;         // multiplier of Q·K: {arch}.attention.scale, else 1/√head_dim_k

  bool layer_is_swa(int64_t il) const;
  int64_t n_embd_k_gqa() const { return n_head_kv * head_dim_k; }  // one position's K row
  int64_t n_embd_v_gqa() const { return n_head_kv * head_dim_v; }
  int swa_pattern = 0;
};

// Reads and validates hyperparameters (n_vocab is filled in by the weight binding). Errors name the key.
Result<Hparams> read_hparams(const GgufFile& file, const ArchSpec& arch);

}  // namespace pocket
