// `pocket synth --arch ARCH (--preset NAME | --dims n_embd,n_layer,n_head,n_head_kv,n_ff,vocab[,ctx]) --type TYPE
//  [--seed S] [--vocab VOCAB.gguf] [--force] -o OUT.gguf` (CLI.md): a GGUF with seeded random weights of any
// supported architecture and shape, so speed can be measured without downloading a model.
//
// Weights ~ normal(0, 0.02) (logits stay small and finite), norms = 1, biases = 0. 2-D weights are quantized to
// TYPE with the reference quantizer (rows whose length is not a multiple of TYPE's block fall back to Q8_0, else
// F16, as llama.cpp falls back); 1-D tensors stay F32. The tokenizer comes from --vocab (its tokenizer.* keys),
// else the embedded model's when the vocabulary size is the same, else printable placeholder tokens.
// The file is streamed tensor by tensor (an 8B model never sits in memory) through GgufWriter::write, so the
// output is complete or absent. The same seed gives the same bytes.

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "command.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "model/arch.h"
#include "model_source.h"
#include "tensor/dtype.h"

namespace pocket {
namespace {

struct SynthShape {
  std::string arch = "llama";
  int64_t n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_vocab = 0, n_ctx = 2048;
  bool tied = true;
  float rope_base = 10000.0f;
  float norm_eps = 1e-5f;
};

struct Preset {
  const char* name;
  SynthShape shape;
};

// Real shapes (the models' config.json / GGUF metadata).
const Preset kPresets[] = {
    {"stories15m", {"llama", 288, 6, 6, 6, 768, 32000, 256, true, 10000.0f, 1e-5f}},
    {"stories110m", {"llama", 768, 12, 12, 12, 2048, 32000, 1024, true, 10000.0f, 1e-5f}},
    {"smollm2-135m", {"llama", 576, 30, 9, 3, 1536, 49152, 8192, true, 100000.0f, 1e-5f}},
    {"qwen2.5-0.5b", {"qwen2", 896, 24, 14, 2, 4864, 151936, 32768, true, 1000000.0f, 1e-6f}},
    {"llama3.2-1b", {"llama", 2048, 16, 32, 8, 8192, 128256, 131072, true, 500000.0f, 1e-5f}},
    {"tinyllama-1.1b", {"llama", 2048, 22, 32, 4, 5632, 32000, 2048, false, 10000.0f, 1e-5f}},
    {"llama3-8b", {"llama", 4096, 32, 32, 8, 14336, 128256, 8192, false, 500000.0f, 1e-5f}},
};

struct SynthOptions {
  std::string arch, preset, dims, type, vocab, out;
  uint64_t seed = 42;
  bool force = false;
};

// splitmix64: a tiny portable PRNG, so a seed gives the same bytes on every platform and standard library.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
  // Box-Muller; one value per call (simple and deterministic).
  float normal(float stddev) {
    double u1 = uniform(), u2 = uniform();
    return static_cast<float>(stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
};

enum class Fill { kNormal, kOnes, kZeros };

struct TensorPlan {
  std::string name;
  std::vector<int64_t> shape;  // ne0 first
  const DTypeInfo* type;
  Fill fill;
};

Result<SynthShape> parse_dims(const std::string& dims) {
  std::vector<int64_t> v;
  size_t i = 0;
  while (i <= dims.size()) {
    size_t j = dims.find(',', i);
    if (j == std::string::npos) j = dims.size();
    std::string part = dims.substr(i, j - i);
    char* end = nullptr;
    long long x = std::strtoll(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || x < 1 || x > (1ll << 31)) {
      return bad_input("--dims: '{}' is not a positive integer (expected n_embd,n_layer,n_head,n_head_kv,n_ff,"
                       "vocab[,ctx])", part);
    }
    v.push_back(x);
    i = j + 1;
  }
  if (v.size() != 6 && v.size() != 7) {
    return bad_input("--dims: {} values given, expected 6 or 7 (n_embd,n_layer,n_head,n_head_kv,n_ff,vocab[,ctx])",
                     v.size());
  }
  SynthShape s;
  s.n_embd = v[0], s.n_layer = v[1], s.n_head = v[2], s.n_head_kv = v[3], s.n_ff = v[4], s.n_vocab = v[5];
  if (v.size() == 7) s.n_ctx = v[6];
  if (s.n_embd % s.n_head != 0) return bad_input("--dims: n_embd {} is not a multiple of n_head {}", s.n_embd, s.n_head);
  if (s.n_head % s.n_head_kv != 0) {
    return bad_input("--dims: n_head_kv {} does not divide n_head {}", s.n_head_kv, s.n_head);
  }
  if ((s.n_embd / s.n_head) % 2 != 0) return bad_input("--dims: head dimension {} is odd", s.n_embd / s.n_head);
  return s;
}

// Placeholder llama (SentencePiece) vocabulary: <unk>, <s>, </s>, the 256 byte tokens, then printable pieces.
Status set_placeholder_vocab(GgufWriter& w, int64_t n_vocab) {
  if (n_vocab < 259 + 1) {
    return bad_input("vocabulary size {} is too small for placeholder tokens (at least 260; or give --vocab)",
                     n_vocab);
  }
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  tokens.reserve(n_vocab);
  tokens = {"<unk>", "<s>", "</s>"};
  types = {2, 3, 3};  // unknown, control, control
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(fmt::format("<0x{:02X}>", b));
    types.push_back(6);  // byte
  }
  for (int64_t i = 0; tokens.size() < static_cast<size_t>(n_vocab); ++i) {
    std::string piece = "\xE2\x96\x81";  // "▁" (a word start), then base-26 letters of the index
    int64_t x = i;
    do {
      piece += static_cast<char>('a' + x % 26);
      x /= 26;
    } while (x > 0);
    tokens.push_back(piece);
    types.push_back(1);  // normal
  }
  for (int64_t i = 0; i < n_vocab; ++i) scores.push_back(i < 259 ? 0.0f : -static_cast<float>(i - 259));
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string_array("tokenizer.ggml.tokens", std::move(tokens));
  w.set_f32_array("tokenizer.ggml.scores", std::move(scores));
  w.set_i32_array("tokenizer.ggml.token_type", std::move(types));
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  w.set_bool("tokenizer.ggml.add_eos_token", false);
  return ok_status();
}

// Copies the tokenizer.* keys of `src`; returns its vocabulary size.
Result<int64_t> copy_vocab(GgufWriter& w, const GgufFile& src) {
  const GgufValue* tokens = src.find("tokenizer.ggml.tokens");
  if (tokens == nullptr || tokens->array_length() == 0) {
    return bad_input("{}: key 'tokenizer.ggml.tokens' is missing or empty (no tokenizer to copy)", src.name());
  }
  for (const auto& kv : src.metadata()) {
    if (kv.key.rfind("tokenizer.", 0) == 0) w.set(kv.key, kv.value);
  }
  return static_cast<int64_t>(tokens->array_length());
}

const DTypeInfo* matrix_type(const DTypeInfo* want, int64_t ne0, const std::string& name) {
  if (ne0 % want->block_elems == 0) return want;
  const DTypeInfo* fb = &dtype_info(ne0 % 32 == 0 ? DType::kQ8_0 : DType::kF16);
  fmt::print(stderr, "pocket synth: {}: rows of {} values are not a multiple of the {} block ({}); using {}\n", name,
             ne0, want->name, want->block_elems, fb->name);
  return fb;
}

// Every tensor the architecture binds (src/model/model.cc), with llama.cpp's names and shapes (ne0 first).
std::vector<TensorPlan> plan_tensors(const SynthShape& s, const ArchSpec& a, const DTypeInfo* type) {
  std::vector<TensorPlan> t;
  const DTypeInfo* f32 = &dtype_info(DType::kF32);
  auto mat = [&](std::string name, int64_t ne0, int64_t ne1) {
    const DTypeInfo* ty = matrix_type(type, ne0, name);
    t.push_back({std::move(name), {ne0, ne1}, ty, Fill::kNormal});
  };
  auto vec = [&](std::string name, int64_t n, Fill fill) { t.push_back({std::move(name), {n}, f32, fill}); };
  int64_t hd = s.n_embd / s.n_head;
  int64_t q_dim = s.n_head * hd, kv_dim = s.n_head_kv * hd;
  mat("token_embd.weight", s.n_embd, s.n_vocab);
  for (int64_t il = 0; il < s.n_layer; ++il) {
    auto b = [&](const char* what) { return fmt::format("blk.{}.{}", il, what); };
    vec(b("attn_norm.weight"), s.n_embd, Fill::kOnes);
    if (a.fused_qkv) {
      mat(b("attn_qkv.weight"), s.n_embd, q_dim + 2 * kv_dim);
    } else {
      mat(b("attn_q.weight"), s.n_embd, q_dim);
      mat(b("attn_k.weight"), s.n_embd, kv_dim);
      mat(b("attn_v.weight"), s.n_embd, kv_dim);
    }
    if (a.qkv_bias_required) {
      vec(b("attn_q.bias"), q_dim, Fill::kZeros);
      vec(b("attn_k.bias"), kv_dim, Fill::kZeros);
      vec(b("attn_v.bias"), kv_dim, Fill::kZeros);
    }
    if (a.qk_norm) {
      vec(b("attn_q_norm.weight"), hd, Fill::kOnes);
      vec(b("attn_k_norm.weight"), hd, Fill::kOnes);
    }
    mat(b("attn_output.weight"), q_dim, s.n_embd);
    if (a.post_norms) vec(b("post_attention_norm.weight"), s.n_embd, Fill::kOnes);
    vec(b("ffn_norm.weight"), s.n_embd, Fill::kOnes);
    if (a.fused_gate_up) {
      mat(b("ffn_up.weight"), s.n_embd, 2 * s.n_ff);
    } else {
      mat(b("ffn_gate.weight"), s.n_embd, s.n_ff);
      mat(b("ffn_up.weight"), s.n_embd, s.n_ff);
    }
    mat(b("ffn_down.weight"), s.n_ff, s.n_embd);
    if (a.post_norms) vec(b("post_ffw_norm.weight"), s.n_embd, Fill::kOnes);
  }
  vec("output_norm.weight", s.n_embd, Fill::kOnes);
  if (!s.tied) mat("output.weight", s.n_embd, s.n_vocab);
  return t;
}

void set_hparams(GgufWriter& w, const SynthShape& s, const std::string& name) {
  const std::string& a = s.arch;
  w.set_string("general.architecture", a);
  w.set_string("general.name", name);
  w.set_string("general.description", "random weights written by pocket synth (for benchmarking only)");
  w.set_u32(a + ".context_length", static_cast<uint32_t>(s.n_ctx));
  w.set_u32(a + ".embedding_length", static_cast<uint32_t>(s.n_embd));
  w.set_u32(a + ".block_count", static_cast<uint32_t>(s.n_layer));
  w.set_u32(a + ".feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.set_u32(a + ".attention.head_count", static_cast<uint32_t>(s.n_head));
  w.set_u32(a + ".attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  w.set_u32(a + ".rope.dimension_count", static_cast<uint32_t>(s.n_embd / s.n_head));
  w.set_f32(a + ".rope.freq_base", s.rope_base);
  w.set_f32(a + ".attention.layer_norm_rms_epsilon", s.norm_eps);
  w.set_u32(a + ".vocab_size", static_cast<uint32_t>(s.n_vocab));
}

// One tensor's bytes [rows, row_bytes(TYPE, ne0)]: random f32 rows -> TYPE's reference quantizer.
void fill_tensor(const TensorPlan& t, uint64_t seed, uint64_t index, std::span<uint8_t> out) {
  Rng rng{seed * 0x100000001B3ull + index * 0x9E3779B97F4A7C15ull + 1};
  const int64_t ne0 = t.shape[0];
  const int64_t rows = t.shape.size() > 1 ? t.shape[1] : 1;
  const size_t row_size = row_bytes(*t.type, ne0);
  std::vector<float> row(ne0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < ne0; ++i) {
      row[i] = t.fill == Fill::kOnes ? 1.0f : t.fill == Fill::kZeros ? 0.0f : rng.normal(0.02f);
    }
    t.type->quant(row.data(), out.data() + r * row_size, ne0);
  }
}

// Streams the file tensor by tensor (GgufWriter::write with a fill), with a progress line for large files.
Status write_synth(const std::string& path, GgufWriter& w, const std::vector<TensorPlan>& plan, uint64_t seed) {
  uint64_t total = 0;
  for (const auto& t : plan) {
    POCKET_RETURN_IF_ERROR(w.declare_tensor(t.name, static_cast<DType>(t.type->id), t.shape));
    total += row_bytes(*t.type, t.shape[0]) * static_cast<uint64_t>(t.shape.size() > 1 ? t.shape[1] : 1);
  }
  const bool progress = total > (256ull << 20);
  uint64_t done = 0;
  int last_pct = -1;
  Status st = w.write(path, [&](size_t i, std::span<uint8_t> out) {
    fill_tensor(plan[i], seed, i, out);
    done += out.size();
    const int pct = static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total));
    if (progress && pct != last_pct) {
      fmt::print(stderr, "\rpocket synth: {:3d}% of {:.1f} MiB", pct, static_cast<double>(total) / (1 << 20));
      last_pct = pct;
    }
    return ok_status();
  });
  if (progress) fmt::print(stderr, "\n");
  return st;
}

Result<SynthShape> resolve_shape(const SynthOptions& o) {
  if (o.preset.empty() == o.dims.empty()) return bad_input("give exactly one of --preset NAME or --dims ...");
  SynthShape s;
  if (!o.preset.empty()) {
    const Preset* found = nullptr;
    std::string names;
    for (const auto& p : kPresets) {
      if (o.preset == p.name) found = &p;
      names += (names.empty() ? "" : ", ") + std::string(p.name);
    }
    if (found == nullptr) return bad_input("--preset: unknown preset '{}' (known: {})", o.preset, names);
    s = found->shape;
    if (!o.arch.empty()) s.arch = o.arch;
  } else {
    POCKET_ASSIGN_OR_RETURN(s, parse_dims(o.dims));
    if (o.arch.empty()) return bad_input("--arch is required with --dims");
    s.arch = o.arch;
  }
  return s;
}

int run_synth(const SynthOptions& o) {
  auto shape = resolve_shape(o);
  if (!shape.ok()) return report_error(shape.status());
  SynthShape s = *shape;
  const ArchSpec* arch = find_arch(s.arch);
  if (arch == nullptr) {
    std::string known;
    for (const auto& a : all_archs()) known += (known.empty() ? "" : ", ") + std::string(a.name);
    return report_error(bad_input("--arch: unknown architecture '{}' (supported: {})", s.arch, known));
  }
  const DTypeInfo* type = dtype_by_name(o.type);
  if (type == nullptr || type->quant == nullptr || type->dequant == nullptr) {
    std::string known;
    for (const auto& t : all_dtypes()) {
      if (t.quant != nullptr && t.dequant != nullptr && t.id != DType::kQ8_K) known += std::string(" ") + t.name;
    }
    return report_error(bad_input("--type: '{}' is not a type pocket can write (choose one of:{})", o.type, known));
  }
  if (o.out.empty()) return report_error(bad_input("-o OUT.gguf is required"));
  std::error_code ec;
  if (!o.force && std::filesystem::exists(o.out, ec)) {
    return report_error(bad_input("-o: {} already exists (use --force to overwrite)", o.out));
  }
  GgufWriter meta;
  set_hparams(meta, s, o.preset.empty() ? "synth" : "synth-" + o.preset);
  if (!o.vocab.empty()) {
    auto vf = GgufFile::open(o.vocab);
    if (!vf.ok()) return report_error(vf.status());
    auto n = copy_vocab(meta, *vf);
    if (!n.ok()) return report_error(n.status());
    s.n_vocab = *n;
    meta.set_u32(s.arch + ".vocab_size", static_cast<uint32_t>(s.n_vocab));
  } else {
    auto embedded = open_model_file("");
    const GgufValue* tokens = embedded.ok() ? embedded->find("tokenizer.ggml.tokens") : nullptr;
    if (tokens != nullptr && static_cast<int64_t>(tokens->array_length()) == s.n_vocab) {
      auto n = copy_vocab(meta, *embedded);
      if (!n.ok()) return report_error(n.status());
    } else if (Status st = set_placeholder_vocab(meta, s.n_vocab); !st.ok()) {
      return report_error(st);
    }
  }
  std::vector<TensorPlan> plan = plan_tensors(s, *arch, type);
  if (Status st = write_synth(o.out, meta, plan, o.seed); !st.ok()) return report_error(st);
  uint64_t n_params = 0;
  for (const auto& t : plan) n_params += static_cast<uint64_t>(t.shape[0] * (t.shape.size() > 1 ? t.shape[1] : 1));
  fmt::print(stderr, "pocket synth: wrote {} ({} {}, {} tensors, {:.1f}M parameters, vocab {})\n", o.out, s.arch,
             type->name, plan.size(), static_cast<double>(n_params) / 1e6, s.n_vocab);
  return 0;
}

CommandRegistration reg("synth", "Write a GGUF with random weights of any architecture and shape",
                        [](CLI::App& app) -> std::function<int()> {
                          auto o = std::make_shared<SynthOptions>();
                          app.add_option("--arch", o->arch, "architecture (llama, qwen2, qwen3, phi3, gemma2, ...)");
                          app.add_option("--preset", o->preset,
                                         "stories15m, stories110m, smollm2-135m, qwen2.5-0.5b, llama3.2-1b, "
                                         "tinyllama-1.1b, llama3-8b");
                          app.add_option("--dims", o->dims, "n_embd,n_layer,n_head,n_head_kv,n_ff,vocab[,ctx]");
                          app.add_option("--type", o->type, "weight type of 2-D tensors (F32, Q8_0, Q4_K, ...)")
                              ->required();
                          app.add_option("--seed", o->seed, "random seed (default 42)");
                          app.add_option("--vocab", o->vocab, "GGUF whose tokenizer.* keys to copy");
                          app.add_option("-o,--output", o->out, "output GGUF file")->required();
                          app.add_flag("--force", o->force, "overwrite an existing output file");
                          return [o] { return run_synth(*o); };
                        });

}  // namespace
}  // namespace pocket
