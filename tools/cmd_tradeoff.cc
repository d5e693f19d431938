// `pocket tradeoff -m MODEL.gguf -f TEXT [--types Q8_0,Q6_K,Q5_K_M,Q4_K_M,Q3_K_M,Q2_K] [-c CTX] [--chunks N]
//  [--out-dir DIR] [--threads N]`: quantizes the model to each type (src/quant, llama.cpp's recipes) into DIR,
// and measures for the original and each quantized file: file size, bits per weight, prefill and decode tok/s
// (a short timing: one batch of up to 128 prompt tokens and 32 single-token decode steps, best of 2 after a
// warm-up), perplexity and the KL divergence / top-1 agreement against the original (the original's
// log-probabilities saved once in DIR/base.kld, llama.cpp's --kl-divergence-base format). Prints a table and
// writes DIR/tradeoff.json and DIR/tradeoff.svg. Progress on stderr.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "base/mapped_file.h"
#include "command.h"
#include "engine/kl_divergence.h"
#include "engine/perplexity.h"
#include "model/model.h"
#include "model_source.h"
#include "quant/quantize.h"
#include "quant/recipe.h"
#include "tokenizer/tokenizer.h"
#include "tradeoff_report.h"

namespace pocket {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int64_t kPrefillTokens = 128;
constexpr int64_t kDecodeTokens = 32;
constexpr int kSpeedReps = 2;

struct TradeoffOptions {
  std::string model;
  std::string text;
  std::string types = "Q8_0,Q6_K,Q5_K_M,Q4_K_M,Q3_K_M,Q2_K";
  int64_t n_ctx = 512;
  int64_t chunks = 20;
  std::string out_dir = "pocket-tradeoff";
  int threads = 0;
};

Result<std::vector<std::string>> parse_types(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream ss(list);
  std::string t;
  while (std::getline(ss, t, ',')) {
    if (t.empty()) continue;
    const quant::FileType* ft = quant::file_type_by_name(t);
    if (ft == nullptr) return bad_input("--types: '{}' is not a llama.cpp file type (Q8_0, Q4_K_M, ...)", t);
    out.emplace_back(ft->name);
  }
  if (out.empty()) return bad_input("--types: no type given");
  return out;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Prefill and decode tokens/s of `model` on `tokens` (best of kSpeedReps after one warm-up).
Status measure_speed(const Model& model, const std::vector<int32_t>& tokens, int threads, tradeoff::Row& row,
                     tradeoff::Settings& s) {
  const int64_t n_prompt = std::min<int64_t>({kPrefillTokens, static_cast<int64_t>(tokens.size()),
                                              std::max<int64_t>(model.hparams().n_ctx_train, kDecodeTokens + 1)});
  s.prefill_tokens = n_prompt;
  s.decode_tokens = kDecodeTokens;
  const std::span<const int32_t> prompt(tokens.data(), static_cast<size_t>(n_prompt));
  KvCache kv = model.make_cache(std::max<int64_t>(n_prompt, kDecodeTokens + 1), KvType::kF16);
  ForwardOptions fo;
  fo.n_threads = threads;
  std::vector<float> logits;
  double best_pp = 0, best_tg = 0;
  for (int rep = 0; rep <= kSpeedReps; ++rep) {
    kv.clear();
    auto t0 = Clock::now();
    POCKET_RETURN_IF_ERROR(model.forward(prompt, kv, fo, logits));
    const double pp = static_cast<double>(n_prompt) / seconds_since(t0);
    kv.clear();
    t0 = Clock::now();
    for (int64_t i = 0; i < kDecodeTokens; ++i) {
      POCKET_RETURN_IF_ERROR(model.forward(prompt.subspan(static_cast<size_t>(i % n_prompt), 1), kv, fo, logits));
    }
    const double tg = static_cast<double>(kDecodeTokens) / seconds_since(t0);
    if (rep > 0) {  // rep 0 warms caches and pages
      best_pp = std::max(best_pp, pp);
      best_tg = std::max(best_tg, tg);
    }
  }
  row.prefill_tps = best_pp;
  row.decode_tps = best_tg;
  return ok_status();
}

Result<std::shared_ptr<const Model>> load(const std::string& path) {
  POCKET_ASSIGN_OR_RETURN(GgufFile file, open_model_file(path));
  return Model::load(std::move(file));
}

// Size and bits per weight of a GGUF file (all tensors).
void file_facts(const Model& model, const std::string& path, tradeoff::Row& row) {
  uint64_t bytes = 0, elements = 0;
  for (const GgufTensorInfo& t : model.file().tensors()) {
    bytes += model.file().tensor_bytes(t).size();
    elements += t.n_elements;
  }
  row.bpw = elements > 0 ? static_cast<double>(bytes) * 8.0 / static_cast<double>(elements) : 0;
  std::error_code ec;
  row.file_size = path.empty() ? bytes : static_cast<uint64_t>(fs::file_size(path, ec));
  row.path = path;
}

Status run(const TradeoffOptions& o) {
  POCKET_ASSIGN_OR_RETURN(std::vector<std::string> types, parse_types(o.types));
  if (o.text.empty()) return bad_input("-f: a text file to evaluate is required");
  if (o.model.empty()) return bad_input("-m: tradeoff needs a model file to quantize (MODEL.gguf)");
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec) return failure("--out-dir: cannot create {}: {}", o.out_dir, ec.message());
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  POCKET_ASSIGN_OR_RETURN(auto original, load(o.model));
  POCKET_ASSIGN_OR_RETURN(Tokenizer tok, Tokenizer::from_gguf(original->file()));
  auto text = read_text_file(o.text);
  if (!text.ok()) return text.status().with_context("-f: ");
  if (!text->empty() && text->back() == '\n') text->pop_back();
  const std::vector<int32_t> tokens = tok.encode(*text, true, false);
  const int32_t bos = tok.add_bos() ? tok.bos_id() : -1;

  PerplexityOptions p;
  p.n_ctx = o.n_ctx;
  p.max_chunks = o.chunks;
  p.n_threads = threads;
  tradeoff::Settings settings{o.model, o.text, o.n_ctx,
                              perplexity_chunks(static_cast<int64_t>(tokens.size()), o.n_ctx, o.chunks), threads};
  std::vector<tradeoff::Row> rows;

  // The original: perplexity, saved log-probabilities, speed.
  const std::string base_path = (fs::path(o.out_dir) / "base.kld").string();
  fmt::print(stderr, "tradeoff: original model, {} tokens, {} windows of {}\n", tokens.size(), settings.n_chunks,
             o.n_ctx);
  if (static_cast<int64_t>(tokens.size()) < 2 * o.n_ctx || settings.n_chunks < 1) {
    return bad_input("-f: the text tokenizes to {} tokens; -c {} needs at least {}", tokens.size(), o.n_ctx,
                     2 * o.n_ctx);
  }
  POCKET_ASSIGN_OR_RETURN(auto writer, BaseLogitsWriter::create(base_path, static_cast<int32_t>(o.n_ctx),
                                                                static_cast<int32_t>(original->n_vocab()),
                                                                static_cast<int32_t>(settings.n_chunks), tokens));
  POCKET_ASSIGN_OR_RETURN(PerplexityResult base, compute_perplexity(*original, tokens, bos, p, writer.get()));
  tradeoff::Row orig;
  orig.type = "original";
  orig.original = true;
  orig.ppl = base.ppl;
  orig.ppl_stderr = base.ppl_stderr;
  file_facts(*original, o.model, orig);
  POCKET_RETURN_IF_ERROR(measure_speed(*original, tokens, threads, orig, settings));
  rows.push_back(orig);

  const std::string stem = fs::path(o.model).stem().string();
  for (const std::string& type : types) {
    tradeoff::Row row;
    row.type = type;
    quant::QuantizeOptions q;
    q.input = o.model;
    q.output = (fs::path(o.out_dir) / (stem + "-" + type + ".gguf")).string();
    q.type = type;
    q.threads = threads;
    fmt::print(stderr, "tradeoff: {} -> {}\n", type, q.output);
    POCKET_ASSIGN_OR_RETURN(quant::QuantizeSummary summary, quant::quantize_model(q));
    (void)summary;
    POCKET_ASSIGN_OR_RETURN(auto model, load(q.output));
    file_facts(*model, q.output, row);
    POCKET_ASSIGN_OR_RETURN(auto reader, BaseLogitsReader::open(base_path));
    POCKET_ASSIGN_OR_RETURN(KlResult kl, compute_kl_divergence(*model, *reader, bos, p));
    row.ppl = kl.ppl.mean;
    row.ppl_stderr = kl.ppl.err;
    row.kld = kl.kld.mean;
    row.kld_stderr = kl.kld.err;
    row.top1 = kl.same_top.mean;
    row.delta_p_rms = kl.delta_p_rms.mean;
    POCKET_RETURN_IF_ERROR(measure_speed(*model, tokens, threads, row, settings));
    rows.push_back(row);
  }

  std::fputs(tradeoff::table(rows).c_str(), stdout);
  const std::string json_path = (fs::path(o.out_dir) / "tradeoff.json").string();
  const std::string svg_path = (fs::path(o.out_dir) / "tradeoff.svg").string();
  POCKET_RETURN_IF_ERROR(tradeoff::write_text(json_path, tradeoff::to_json(settings, rows).dump(1) + "\n"));
  POCKET_RETURN_IF_ERROR(tradeoff::write_text(svg_path, tradeoff::svg(settings, rows)));
  fmt::print(stderr, "tradeoff: wrote {} and {}\n", json_path, svg_path);
  return ok_status();
}

CommandRegistration reg("tradeoff", "quantize to several types and chart quality (KLD) vs size and speed",
                        [](CLI::App& app) -> std::function<int()> {
  auto o = std::make_shared<TradeoffOptions>();
  add_model_option(app, o->model);
  app.add_option("-f,--file", o->text, "text file to evaluate")->required();
  app.add_option("--types", o->types, "comma-separated llama.cpp file types (default Q8_0,Q6_K,Q5_K_M,Q4_K_M,"
                                      "Q3_K_M,Q2_K)");
  app.add_option("-c,--ctx-size", o->n_ctx, "perplexity window (default 512)");
  app.add_option("--chunks", o->chunks, "windows evaluated per model (default 20; -1: all)");
  app.add_option("--out-dir", o->out_dir, "where the quantized models, base.kld, tradeoff.json and tradeoff.svg go "
                                          "(default pocket-tradeoff)");
  app.add_option("--threads,-t", o->threads, "worker threads (default: all cores)");
  return [o] {
    const Status s = run(*o);
    return s.ok() ? 0 : report_error(s);
  };
});

}  // namespace
}  // namespace pocket
