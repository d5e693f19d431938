// Architectures are data: one ArchSpec row per model family says how the single forward pass (forward.cc) is
// wired for it. Adding a family = a row here + a reference-logits test; never a copied forward pass.
#pragma once

#include <span>
#include <string_view>

#include "kernels/ops.h"

namespace pocket {

enum class FfnActivation { kSilu, kGelu };

struct ArchSpec {
  std::string_view name;             // general.architecture
  kernels::RopeStyle rope_style;     // adjacent pairs (llama) or halves (NeoX)
  bool qkv_bias_required;            // attn_{q,k,v}.bias must exist (qwen2); other archs bind them if present
  bool qk_norm;                      // per-head RMS norms attn_{q,k}_norm before rope (qwen3, gemma3)
  bool fused_qkv;                    // one attn_qkv [n_embd, q + k + v] (phi3)
  bool fused_gate_up;                // ffn_up holds [gate; up] as 2·n_ff rows, gate first (phi3)
  FfnActivation activation;          // act(gate) * up
  bool post_norms;                   // post_attention_norm and post_ffw_norm on the block outputs (gemma2/3)
  bool scale_embeddings;             // inputs scaled by √n_embd (gemma)
  bool q_scale_before_softcap;       // Q·K scaled by attention.scale (default 1/√head_dim) before soft-capping
  int swa_pattern;                   // 0: no sliding window; n: layer il is local iff il % n < n − 1
  float swa_rope_base;               // rope base of local layers when the file has no rope.freq_base_swa (0: global)
};

// The row for an architecture name, or nullptr (unknown architecture).
const ArchSpec* find_arch(std::string_view name);
std::span<const ArchSpec> all_archs();

}  // namespace pocket
