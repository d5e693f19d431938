// `pocket perplexity [-m FILE] -f TEXT [-c CTX] [-b BATCH] [--chunks N] [--kl-divergence-base FILE
//  [--kl-divergence]] [--kv-type f16|f32] [--path fast|exact] [--json] [--threads N]` (CLI.md): llama-perplexity's
// chunked perplexity (src/engine/perplexity.h); with --kl-divergence-base alone the base log-probabilities are
// saved in llama.cpp's file format, with --kl-divergence too they are read back (the file gives the tokens and
// the context, -f is not needed) and KL divergence, top-1 agreement and Δp are reported
// (src/engine/kl_divergence.h). The text is read as bytes, one trailing '\n' dropped (as llama.cpp's -f).
// Progress on stderr; the last stdout line is `PPL = <value> +/- <error>`.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/mapped_file.h"
#include "command.h"
#include "engine/kl_divergence.h"
#include "engine/perplexity.h"
#include "model/model.h"
#include "model_source.h"
#include "tokenizer/tokenizer.h"

namespace pocket {
namespace {

using nlohmann::json;

struct PplOptions {
  std::string model;
  std::string text;
  int64_t n_ctx = 512;
  int64_t n_batch = 2048;
  int64_t chunks = -1;
  std::string kld_base;
  bool kld = false;
  std::string kv_type = "f16";
  std::string path = "fast";
  bool as_json = false;
  int threads = 0;
};

// Progress on stderr: a rewritten line on a terminal, llama-perplexity's "[i]ppl," otherwise.
ChunkProgressFn progress_printer() {
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  return [tty](const ChunkProgress& p) {
    if (p.chunk == 1) {
      fmt::print(stderr, "perplexity: {:.2f} seconds per window - ETA {:.2f} minutes\n", p.seconds,
                 p.seconds * static_cast<double>(p.n_chunks) / 60.0);
    }
    if (tty) {
      fmt::print(stderr, "\r[{}/{}] PPL {:.4f}", p.chunk, p.n_chunks, p.ppl);
    } else {
      fmt::print(stderr, "[{}]{:.4f},", p.chunk, p.ppl);
    }
    if (p.chunk == p.n_chunks) fmt::print(stderr, "\n");
    std::fflush(stderr);
  };
}

json percentiles_json(const Percentiles& p, double scale) {
  return {{"max", p.max * scale}, {"p99.9", p.p99_9 * scale}, {"p99", p.p99 * scale}, {"p95", p.p95 * scale},
          {"p90", p.p90 * scale}, {"p75", p.p75 * scale},     {"median", p.median * scale},
          {"p25", p.p25 * scale}, {"p10", p.p10 * scale},     {"p5", p.p5 * scale},  {"p1", p.p1 * scale},
          {"p0.1", p.p0_1 * scale}, {"min", p.min * scale}};
}

json kl_json(const KlResult& r) {
  return {{"ppl", r.ppl.mean}, {"ppl_stderr", r.ppl.err}, {"n_chunks", r.n_chunks}, {"n_ctx", r.n_ctx},
          {"n_scored", r.count}, {"ppl_base", r.ppl_base.mean}, {"ppl_base_stderr", r.ppl_base.err},
          {"log_ppl_correlation", r.log_ppl_correlation}, {"log_ppl_ratio", r.log_ppl_ratio.mean},
          {"log_ppl_ratio_stderr", r.log_ppl_ratio.err}, {"ppl_ratio", r.ppl_ratio.mean},
          {"ppl_diff", r.ppl_diff.mean}, {"kld", r.kld.mean}, {"kld_stderr", r.kld.err},
          {"kld_percentiles", percentiles_json(r.kld_pct, 1.0)}, {"top1_agreement", r.same_top.mean},
          {"top1_agreement_stderr", r.same_top.err},
          {"delta_p", {{"mean", r.delta_p.mean}, {"stderr", r.delta_p.err}, {"rms", r.delta_p_rms.mean},
                       {"rms_stderr", r.delta_p_rms.err}, {"percentiles", percentiles_json(r.delta_p_pct, 1.0)}}}};
}

void print_kl(const KlResult& r) {
  fmt::print("====== Perplexity statistics ======\n");
  fmt::print("Mean PPL(Q)                   : {:10.6f} ± {:10.6f}\n", r.ppl.mean, r.ppl.err);
  fmt::print("Mean PPL(base)                : {:10.6f} ± {:10.6f}\n", r.ppl_base.mean, r.ppl_base.err);
  fmt::print("Cor(ln(PPL(Q)), ln(PPL(base))): {:6.2f}%\n", 100.0 * r.log_ppl_correlation);
  fmt::print("Mean ln(PPL(Q)/PPL(base))     : {:10.6f} ± {:10.6f}\n", r.log_ppl_ratio.mean, r.log_ppl_ratio.err);
  fmt::print("Mean PPL(Q)/PPL(base)         : {:10.6f} ± {:10.6f}\n", r.ppl_ratio.mean, r.ppl_ratio.err);
  fmt::print("Mean PPL(Q)-PPL(base)         : {:10.6f} ± {:10.6f}\n\n", r.ppl_diff.mean, r.ppl_diff.err);
  fmt::print("====== KL divergence statistics ======\n");
  fmt::print("Mean    KLD: {:10.6f} ± {:10.6f}\n", r.kld.mean, r.kld.err);
  const Percentiles& k = r.kld_pct;
  const std::pair<const char*, double> kld_rows[] = {
      {"Maximum", k.max}, {"99.9%  ", k.p99_9}, {"99.0%  ", k.p99}, {"95.0%  ", k.p95}, {"90.0%  ", k.p90},
      {"Median ", k.median}, {"10.0%  ", k.p10}, {" 5.0%  ", k.p5}, {" 1.0%  ", k.p1}, {" 0.1%  ", k.p0_1},
      {"Minimum", k.min}};
  for (const auto& [label, v] : kld_rows) fmt::print("{} KLD: {:10.6f}\n", label, v);
  fmt::print("\n====== Token probability statistics ======\n");
  fmt::print("Mean    Δp: {:6.3f} ± {:5.3f} %\n", 100.0 * r.delta_p.mean, 100.0 * r.delta_p.err);
  const Percentiles& d = r.delta_p_pct;
  const std::pair<const char*, double> dp_rows[] = {
      {"Maximum", d.max}, {"99.9%  ", d.p99_9}, {"99.0%  ", d.p99}, {"95.0%  ", d.p95}, {"90.0%  ", d.p90},
      {"75.0%  ", d.p75}, {"Median ", d.median}, {"25.0%  ", d.p25}, {"10.0%  ", d.p10}, {" 5.0%  ", d.p5},
      {" 1.0%  ", d.p1}, {" 0.1%  ", d.p0_1}, {"Minimum", d.min}};
  for (const auto& [label, v] : dp_rows) fmt::print("{} Δp: {:6.3f}%\n", label, 100.0 * v);
  fmt::print("RMS Δp    : {:6.3f} ± {:5.3f} %\n", 100.0 * r.delta_p_rms.mean, 100.0 * r.delta_p_rms.err);
  fmt::print("Same top p: {:6.3f} ± {:5.3f} %\n\n", 100.0 * r.same_top.mean, 100.0 * r.same_top.err);
}

Result<PerplexityOptions> engine_options(const PplOptions& o) {
  if (o.path != "fast" && o.path != "exact") return bad_input("--path: '{}' is not fast or exact", o.path);
  if (o.n_batch < 1) return bad_input("-b: batch size {} must be at least 1", o.n_batch);
  if (o.kld && o.kld_base.empty()) {
    return bad_input("--kl-divergence needs --kl-divergence-base FILE (the base model's saved log-probabilities)");
  }
  if (!o.kld && o.text.empty()) return bad_input("-f: a text file to evaluate is required");
  PerplexityOptions p;
  p.n_ctx = o.n_ctx;
  p.n_batch = o.n_batch;
  p.max_chunks = o.chunks;
  POCKET_ASSIGN_OR_RETURN(p.kv_type, kv_type_from_flag(o.kv_type));
  p.path = o.path == "exact" ? kernels::MatmulPath::kExact : kernels::MatmulPath::kFast;
  p.n_threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  p.progress = progress_printer();
  return p;
}

int run_kl(const PplOptions& o, const Model& model, int32_t bos, const PerplexityOptions& p) {
  auto base = BaseLogitsReader::open(o.kld_base);
  if (!base.ok()) return report_error(base.status());
  fmt::print(stderr, "kl-divergence: {} windows of {} tokens from {}\n", (*base)->n_chunk(), (*base)->n_ctx(),
             o.kld_base);
  auto r = compute_kl_divergence(model, **base, bos, p);
  if (!r.ok()) return report_error(r.status());
  if (o.as_json) {
    json j = kl_json(*r);
    j["model"] = model.file().name();
    j["kv_type"] = o.kv_type;
    std::puts(j.dump().c_str());
    return 0;
  }
  print_kl(*r);
  fmt::print("PPL = {:.4f} +/- {:.5f}\n", r->ppl.mean, r->ppl.err);
  return 0;
}

int run_perplexity(const PplOptions& o) {
  auto p = engine_options(o);
  if (!p.ok()) return report_error(p.status());
  auto file = open_model_file(o.model);
  if (!file.ok()) return report_error(file.status());
  auto loaded = Model::load(std::move(file).value());
  if (!loaded.ok()) return report_error(loaded.status());
  const Model& model = **loaded;
  auto tok = Tokenizer::from_gguf(model.file());
  if (!tok.ok()) return report_error(tok.status());
  const int32_t bos = tok->add_bos() ? tok->bos_id() : -1;
  if (o.kld) return run_kl(o, model, bos, *p);

  auto text = read_text_file(o.text);
  if (!text.ok()) return report_error(Status(text.status().kind(), "-f: " + text.status().message()));
  if (!text->empty() && text->back() == '\n') text->pop_back();
  const std::vector<int32_t> tokens = tok->encode(*text, /*add_special=*/true, /*parse_special=*/false);
  const int64_t n_chunk = perplexity_chunks(static_cast<int64_t>(tokens.size()), p->n_ctx, p->max_chunks);
  fmt::print(stderr, "perplexity: {} tokens, {} windows of {} (batch {}), KV {}\n", tokens.size(), n_chunk,
             p->n_ctx, std::min(p->n_batch, p->n_ctx), o.kv_type);
  std::unique_ptr<BaseLogitsWriter> writer;
  if (!o.kld_base.empty() && tokens.size() >= static_cast<size_t>(2 * std::max<int64_t>(p->n_ctx, 0)) &&
      n_chunk > 0 && p->n_ctx >= 4) {
    auto w = BaseLogitsWriter::create(o.kld_base, static_cast<int32_t>(p->n_ctx),
                                      static_cast<int32_t>(model.n_vocab()), static_cast<int32_t>(n_chunk), tokens);
    if (!w.ok()) return report_error(w.status());
    writer = std::move(w).value();
    fmt::print(stderr, "perplexity: saving the base log-probabilities to {}\n", o.kld_base);
  }
  auto r = compute_perplexity(model, tokens, bos, *p, writer.get());
  if (!r.ok()) return report_error(r.status());
  if (o.as_json) {
    json j = {{"model", model.file().name()}, {"ppl", r->ppl}, {"ppl_stderr", r->ppl_stderr},
              {"n_chunks", r->n_chunks}, {"n_ctx", r->n_ctx}, {"n_tokens", r->n_tokens},
              {"n_scored", r->n_scored}, {"mean_nll", r->mean_nll}, {"kv_type", o.kv_type}};
    if (writer) j["kl_divergence_base"] = o.kld_base;
    std::puts(j.dump().c_str());
    return 0;
  }
  fmt::print("Final estimate: PPL = {:.4f} +/- {:.5f} ({} windows of {}, {} tokens scored)\n", r->ppl,
             r->ppl_stderr, r->n_chunks, r->n_ctx, r->n_scored);
  fmt::print("PPL = {:.4f} +/- {:.5f}\n", r->ppl, r->ppl_stderr);
  return 0;
}

CommandRegistration reg("perplexity", "perplexity and KL divergence as llama-perplexity computes them",
                        [](CLI::App& app) -> std::function<int()> {
  auto o = std::make_shared<PplOptions>();
  add_model_option(app, o->model);
  app.add_option("-f,--file", o->text, "text file to evaluate (not needed with --kl-divergence)");
  app.add_option("-c,--ctx-size", o->n_ctx, "window size in tokens (default 512); the second half is scored");
  app.add_option("-b,--batch-size", o->n_batch, "tokens per forward call (default 2048, capped at -c)");
  app.add_option("--chunks", o->chunks, "evaluate at most N windows (default: all)");
  app.add_option("--kl-divergence-base", o->kld_base,
                 "FILE of base log-probabilities (llama.cpp's format): written, or read with --kl-divergence");
  app.add_flag("--kl-divergence", o->kld, "compare against --kl-divergence-base: KLD, top-1 agreement, Δp");
  app.add_option("--kv-type", o->kv_type, "KV cache type: f16 (default, as llama.cpp) or f32");
  app.add_option("--path", o->path, "fast (default) or exact (f32 from dequantized weights)");
  app.add_flag("--json", o->as_json, "one JSON object: ppl, ppl_stderr, n_chunks, ... (kld, top1_agreement)");
  app.add_option("--threads,-t", o->threads, "worker threads (default: all cores)");
  return [o] { return run_perplexity(*o); };
});

}  // namespace
}  // namespace pocket
