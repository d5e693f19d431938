// `pocket logits [-m FILE] --tokens "1 450 ..." [--top K] [--kv-type f32|f16] [--greedy N] [--last-logits]
//  [--path fast|exact] [--threads N] [--ctx N] [--json]` (CLI.md): evaluates the tokens as one prompt batch and
// prints per position the top-K (id, logit) pairs and the log-sum-exp, then N greedy steps. The JSON has the
// shape of ../shared/reference/refs files.
#include <charconv>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.h"
#include "kernels/ops.h"
#include "model/model.h"
#include "model_source.h"
#include "sample/sampler.h"

namespace pocket {
namespace {

using nlohmann::json;

struct LogitsOptions {
  std::string model;
  std::string tokens;
  int top = 20;
  std::string kv_type = "f32";
  int greedy = 0;
  bool last_logits = false;
  std::string path = "fast";
  int threads = 0;
  int64_t ctx = 0;
  bool as_json = false;
};

Result<std::vector<int32_t>> parse_tokens(const std::string& text) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == ',' || text[i] == '\t' || text[i] == '\n') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != ',' && text[j] != '\t' && text[j] != '\n') ++j;
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data() + i, text.data() + j, v);
    if (ec != std::errc() || ptr != text.data() + j || v < INT32_MIN || v > INT32_MAX) {
      return bad_input("--tokens: '{}' is not a token id (expected integers separated by spaces)",
                       text.substr(i, j - i));
    }
    ids.push_back(static_cast<int32_t>(v));
    i = j;
  }
  if (ids.empty()) return bad_input("--tokens: no token ids given");
  return ids;
}

json top_json(std::span<const float> row, int k) {
  json top = json::array();
  for (const auto& [id, logit] : top_k(row, k)) top.push_back(json::array({id, logit}));
  return top;
}

float margin(std::span<const float> row) {
  auto best = top_k(row, 2);
  return best.size() < 2 ? 0.0f : best[0].second - best[1].second;
}

int run_logits(const LogitsOptions& o) {
  auto ids = parse_tokens(o.tokens);
  if (!ids.ok()) return report_error(ids.status());
  const auto kv_type = kv_type_from_flag(o.kv_type);
  if (!kv_type.ok()) return report_error(kv_type.status());
  if (o.path != "fast" && o.path != "exact") {
    return report_error(bad_input("--path: '{}' is not fast or exact", o.path));
  }
  auto file = open_model_file(o.model);
  if (!file.ok()) return report_error(file.status());
  auto model = Model::load(std::move(file).value());
  if (!model.ok()) return report_error(model.status());
  const Model& m = **model;

  const int64_t n_ctx = o.ctx > 0 ? o.ctx : m.hparams().n_ctx_train;
  const int64_t needed = static_cast<int64_t>(ids->size()) + std::max(o.greedy - 1, 0);
  if (needed > n_ctx) {
    return report_error(bad_input("--tokens: {} prompt tokens + {} greedy steps need {} positions, more than the "
                                  "context size {}", ids->size(), std::max(o.greedy - 1, 0), needed, n_ctx));
  }
  KvCache kv = m.make_cache(n_ctx, *kv_type);
  ForwardOptions fo;
  fo.path = o.path == "exact" ? kernels::MatmulPath::kExact : kernels::MatmulPath::kFast;
  fo.n_threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  fo.all_logits = true;
  std::vector<float> logits;
  if (Status s = m.forward(*ids, kv, fo, logits); !s.ok()) return report_error(s);

  const int64_t n_vocab = m.n_vocab();
  json out;
  out["model"] = m.file().name();
  out["settings"] = {{"kv_type", o.kv_type}, {"flash_attn", false}, {"n_ctx", n_ctx},
                     {"n_threads", fo.n_threads}, {"path", o.path}};
  out["prompt_tokens"] = *ids;
  json positions = json::array();
  for (size_t t = 0; t < ids->size(); ++t) {
    std::span<const float> row(logits.data() + t * n_vocab, n_vocab);
    positions.push_back({{"top", top_json(row, o.top)}, {"logsumexp", kernels::log_sum_exp(row.data(), n_vocab)}});
  }
  out["positions"] = std::move(positions);
  std::vector<float> last(logits.end() - n_vocab, logits.end());
  if (o.last_logits) out["last_logits"] = last;
  if (o.greedy > 0) {
    std::vector<int32_t> tokens;
    std::vector<float> margins;
    fo.all_logits = false;
    std::vector<float> row = last;
    for (int step = 0; step < o.greedy; ++step) {
      if (step > 0) {
        if (Status s = m.forward(std::span(&tokens.back(), 1), kv, fo, row); !s.ok()) return report_error(s);
      }
      tokens.push_back(argmax(row));
      margins.push_back(margin(row));
    }
    out["greedy"] = {{"tokens", tokens}, {"margins", margins}};
  }
  if (o.as_json) {
    std::puts(out.dump().c_str());
    return 0;
  }
  for (size_t t = 0; t < ids->size(); ++t) {
    const json& p = out["positions"][t];
    std::string line = fmt::format("pos {:3d} token {:6d} lse {:9.4f} |", t, (*ids)[t], p["logsumexp"].get<double>());
    for (const auto& pair : p["top"]) line += fmt::format(" {}:{:.4f}", pair[0].get<int>(), pair[1].get<float>());
    std::puts(line.c_str());
  }
  if (o.greedy > 0) {
    std::string line = "greedy:";
    for (const auto& t : out["greedy"]["tokens"]) line += fmt::format(" {}", t.get<int>());
    std::puts(line.c_str());
  }
  return 0;
}

CommandRegistration reg("logits", "evaluate token ids and print per-position top logits (debugging, tests)",
                        [](CLI::App& app) -> std::function<int()> {
  auto o = std::make_shared<LogitsOptions>();
  add_model_option(app, o->model);
  app.add_option("--tokens", o->tokens, "prompt token ids, space-separated")->required();
  app.add_option("--top", o->top, "top-K ids and logits per position (default 20)");
  app.add_option("--kv-type", o->kv_type, "KV cache type: f32 (default) or f16");
  app.add_option("--greedy", o->greedy, "greedy decode N tokens after the prompt");
  app.add_flag("--last-logits", o->last_logits, "print all logits of the last prompt position");
  app.add_option("--path", o->path, "fast (default) or exact (f32 from dequantized weights)");
  app.add_option("--threads", o->threads, "worker threads (default: all cores)");
  app.add_option("--ctx", o->ctx, "context size (default: the model's)");
  app.add_flag("--json", o->as_json, "one JSON document in the shape of the reference files");
  return [o] { return run_logits(*o); };
});

}  // namespace
}  // namespace pocket
