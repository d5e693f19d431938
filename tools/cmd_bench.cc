// `pocket bench [-m FILE] [-p 512] [-n 128] [-r 5] [-t THREADS] [--json] [--cost-per-hour USD | --watts W
//  --kwh-price USD]` (CLI.md, PERFORMANCE.md): prefill (one batch of p tokens) and decode (n tokens one at a time
// from an empty context, as llama-bench's tg) throughput over r repetitions after a warm-up, load time, time to
// first token, peak RSS, the SIMD target serving each weight type, and the roofline from probes run in this
// process with the same threads.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_probes.h"
#include "command.h"
#include "engine/session.h"
#include "kernels/dispatch.h"
#include "model/model.h"
#include "model_source.h"

namespace pocket {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr double kGpt4oMiniInput = 0.15;   // USD per 1M input tokens
constexpr double kGpt4oMiniOutput = 0.60;  // USD per 1M output tokens

struct BenchOptions {
  std::string model;
  int64_t n_prompt = 512;
  int64_t n_gen = 128;
  int reps = 5;
  int threads = 0;
  std::string kv_type = "f32";
  bool as_json = false;
  double cost_per_hour = 0, watts = 0, kwh_price = 0;
};

struct Stats {
  double median = 0, min = 0, max = 0;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Stats s;
  if (v.empty()) return s;
  s.min = v.front();
  s.max = v.back();
  size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  return s;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int64_t peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;  // Linux: kilobytes
}

// What one token's forward pass reads and computes: every matrix except the embedding table (one row read), plus
// the output projection (the embedding table when tied).
struct WeightFacts {
  int64_t n_params = 0;        // all tensor elements
  int64_t matmul_params = 0;   // elements multiplied per token
  int64_t bytes_per_token = 0; // quantized weight bytes read per decoded token
  std::map<std::string, int64_t> bytes_by_type;  // matrices only
  bool quantized = false;      // the dominant matrix type is a block-quantized type
};

WeightFacts weight_facts(const GgufFile& file) {
  WeightFacts f;
  bool has_output = file.find_tensor("output.weight") != nullptr;
  for (const auto& t : file.tensors()) {
    f.n_params += static_cast<int64_t>(t.n_elements);
    bool matrix = t.shape.size() >= 2;
    bool embd = t.name == "token_embd.weight";
    if (!matrix || (embd && has_output)) continue;
    f.matmul_params += static_cast<int64_t>(t.n_elements);
    f.bytes_per_token += static_cast<int64_t>(t.n_bytes);
    f.bytes_by_type[t.dtype->name] += static_cast<int64_t>(t.n_bytes);
  }
  std::string dominant;
  int64_t most = -1;
  for (const auto& [name, bytes] : f.bytes_by_type) {
    if (bytes > most) most = bytes, dominant = name;
  }
  f.quantized = !(dominant == "F32" || dominant == "F16" || dominant == "BF16" || dominant.empty());
  return f;
}

json simd_json(const GgufFile& file) {
  json simd = json::object();
  for (const auto& t : file.tensors()) {
    if (t.shape.size() < 2 || simd.contains(t.dtype->name)) continue;
    kernels::KernelChoice k = kernels::kernel_for(t.dtype->id);
    simd[t.dtype->name] = k.gemm == nullptr ? std::string("none") : std::string(kernels::target_name(k.target));
  }
  return simd;
}

struct Timings {
  std::vector<double> pp_tps, tg_tps, pp_seconds;
};

Status run_reps(Session& session, const BenchOptions& o, int64_t n_vocab, Timings& out) {
  std::vector<int32_t> ids(std::max<int64_t>(o.n_prompt, 32));  // random ids, fixed seed
  uint64_t x = 12345;
  for (auto& id : ids) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    id = static_cast<int32_t>((x >> 33) % static_cast<uint64_t>(n_vocab));
  }
  std::span<const int32_t> prompt = std::span(ids).first(o.n_prompt);
  std::vector<float> logits;
  // Warm-up, as llama-bench does: one full-size prefill, then a few decode steps. The first pass over a new batch
  // size faults in its activation and KV pages, a one-time cost that llama-bench's figures exclude the same way.
  session.reset();
  POCKET_RETURN_IF_ERROR(session.eval(std::span(ids).first(std::max<int64_t>(o.n_prompt, 1)), logits));
  for (int i = 0; i < 4; ++i) POCKET_RETURN_IF_ERROR(session.eval(std::span(ids).first(1), logits));
  for (int r = 0; r < o.reps; ++r) {
    if (o.n_prompt > 0) {
      session.reset();
      auto t0 = Clock::now();
      POCKET_RETURN_IF_ERROR(session.eval(prompt, logits));
      double s = seconds_since(t0);
      out.pp_seconds.push_back(s);
      out.pp_tps.push_back(static_cast<double>(o.n_prompt) / s);
    }
    if (o.n_gen > 0) {
      session.reset();
      int32_t tok = ids[0];
      auto t0 = Clock::now();
      for (int64_t i = 0; i < o.n_gen; ++i) {
        POCKET_RETURN_IF_ERROR(session.eval(std::span(&tok, 1), logits));
        tok = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      }
      out.tg_tps.push_back(static_cast<double>(o.n_gen) / seconds_since(t0));
    }
  }
  return ok_status();
}

json tps_json(int64_t n, const std::vector<double>& v) {
  Stats s = stats(v);
  return {{"n_tokens", n}, {"median_tps", s.median}, {"min_tps", s.min}, {"max_tps", s.max}};
}

void print_text(const json& j) {
  fmt::print("model      {}  ({:.1f} M params, {:.1f} MiB, {} threads)\n", j["model"].get<std::string>(),
             j["n_params"].get<double>() / 1e6, j["file_size"].get<double>() / (1 << 20), j["threads"].get<int>());
  fmt::print("simd       {}\n", j["simd"].dump());
  fmt::print("load       {:.3f} s (repacking weights {:.3f} s)   ttft {:.1f} ms   peak RSS {:.1f} MiB\n",
             j["load_s"].get<double>(), j["repack_s"].get<double>(), j["ttft_ms"].get<double>(),
             j["peak_rss_bytes"].get<double>() / (1 << 20));
  for (const char* k : {"pp", "tg"}) {
    const json& s = j[k];
    fmt::print("{}{:<5}    {:10.2f} tok/s  (min {:.2f}, max {:.2f})\n", k, s["n_tokens"].get<int64_t>(),
               s["median_tps"].get<double>(), s["min_tps"].get<double>(), s["max_tps"].get<double>());
  }
  const json& r = j["roofline"];
  fmt::print("roofline   bandwidth {:.1f} GB/s, int8 peak {:.0f} GOP/s, f32 peak {:.0f} GFLOP/s\n",
             r["bandwidth_gbs"].get<double>(), r["int8_peak_gops"].get<double>(),
             r["f32_peak_gflops"].get<double>());
  fmt::print("           decode {:.1f} % of bandwidth, prefill {:.1f} % of peak\n",
             r["decode_pct_of_bandwidth"].get<double>(), r["prefill_pct_of_peak"].get<double>());
  if (j.contains("cost")) {
    const json& c = j["cost"];
    fmt::print("cost       ${:.4f} per 1M input, ${:.4f} per 1M output  (GPT-4o mini: ${:.2f} / ${:.2f})\n",
               c["input_usd_per_1m"].get<double>(), c["output_usd_per_1m"].get<double>(), kGpt4oMiniInput,
               kGpt4oMiniOutput);
  }
}

int run_bench(const BenchOptions& o) {
  if (o.n_prompt < 0 || o.n_gen < 0 || o.n_prompt + o.n_gen == 0) {
    return report_error(bad_input("-p {} / -n {}: expected non-negative counts, not both 0", o.n_prompt, o.n_gen));
  }
  if (o.reps < 1) return report_error(bad_input("-r: {} repetitions, expected at least 1", o.reps));
  if (o.threads < 0) return report_error(bad_input("-t: {} threads, expected >= 0 (0: all)", o.threads));
  if (o.cost_per_hour < 0 || o.watts < 0 || o.kwh_price < 0 || ((o.watts > 0) != (o.kwh_price > 0))) {
    return report_error(bad_input("--watts and --kwh-price go together and must be positive; "
                                  "--cost-per-hour must be positive"));
  }
  const auto kv_type = kv_type_from_flag(o.kv_type);
  if (!kv_type.ok()) return report_error(kv_type.status());
  auto t_load = Clock::now();
  auto file = open_model_file(o.model);
  if (!file.ok()) return report_error(file.status());
  std::string name = file->name();
  uint64_t file_size = file->file_size();
  WeightFacts facts = weight_facts(*file);
  json simd = simd_json(*file);
  auto model = Model::load(std::move(*file));
  if (!model.ok()) return report_error(model.status());
  double load_s = seconds_since(t_load);

  SessionOptions so;
  so.n_ctx = std::max<int64_t>(std::max(o.n_prompt, o.n_gen), 32) + 8;
  so.n_threads = o.threads;
  so.kv_type = *kv_type;
  Session session(*model, so);
  Timings tm;
  if (Status st = run_reps(session, o, (*model)->n_vocab(), tm); !st.ok()) return report_error(st);
  int threads = session.n_threads();
  int64_t rss = peak_rss_bytes();  // before the probes, whose 512 MiB buffer is not the model's

  double bw = bench::bandwidth_gbs(threads);
  double int8 = bench::int8_peak_gops(threads);
  double f32 = bench::f32_peak_gflops(threads);
  Stats pp = stats(tm.pp_tps), tg = stats(tm.tg_tps);
  double decode_gbs = tg.median * static_cast<double>(facts.bytes_per_token) / 1e9;
  double prefill_gops = pp.median * 2.0 * static_cast<double>(facts.matmul_params) / 1e9;
  double peak = facts.quantized ? int8 : f32;

  json j = {{"model", name},
            {"threads", threads},
            {"n_params", facts.n_params},
            {"file_size", file_size},
            {"pp", tps_json(o.n_prompt, tm.pp_tps)},
            {"tg", tps_json(o.n_gen, tm.tg_tps)},
            {"load_s", load_s},
            {"repack_s", (*model)->repack_seconds()},
            {"kv_type", o.kv_type},
            {"ttft_ms", stats(tm.pp_seconds).median * 1e3},
            {"peak_rss_bytes", rss},
            {"simd", simd},
            {"roofline",
             {{"bandwidth_gbs", bw},
              {"int8_peak_gops", int8},
              {"f32_peak_gflops", f32},
              {"decode_pct_of_bandwidth", bw > 0 ? 100.0 * decode_gbs / bw : 0.0},
              {"prefill_pct_of_peak", peak > 0 ? 100.0 * prefill_gops / peak : 0.0},
              {"decode_gbs", decode_gbs},
              {"prefill_gops", prefill_gops},
              {"peak_used", facts.quantized ? "int8" : "f32"},
              {"probe_isa", bench::peak_isa()},
              {"bytes_per_token", facts.bytes_per_token}}},
            {"active_target", kernels::target_name(kernels::active_target())}};
  double per_hour = o.cost_per_hour > 0 ? o.cost_per_hour : o.watts / 1000.0 * o.kwh_price;
  if (per_hour > 0) {
    auto per_1m = [&](double tps) { return tps > 0 ? per_hour / (tps * 3600.0) * 1e6 : 0.0; };
    j["cost"] = {{"usd_per_hour", per_hour},
                 {"input_usd_per_1m", per_1m(pp.median)},
                 {"output_usd_per_1m", per_1m(tg.median)},
                 {"gpt4o_mini_input_usd_per_1m", kGpt4oMiniInput},
                 {"gpt4o_mini_output_usd_per_1m", kGpt4oMiniOutput}};
  }
  if (o.as_json) {
    fmt::print("{}\n", j.dump());
  } else {
    print_text(j);
  }
  return 0;
}

const CommandRegistration kBench(
    "bench", "Measure prefill and decode speed, load time, memory and the roofline",
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<BenchOptions>();
      add_model_option(app, o->model);
      app.add_option("-p,--n-prompt", o->n_prompt, "prompt tokens per prefill (default 512)");
      app.add_option("-n,--n-gen", o->n_gen, "tokens decoded one at a time (default 128)");
      app.add_option("-r,--repetitions", o->reps, "repetitions after the warm-up (default 5)");
      app.add_option("-t,--threads", o->threads, "threads (default: all)");
      app.add_option("--kv-type", o->kv_type, "KV cache type: f32 (default) or f16 (llama-bench's default)");
      app.add_flag("--json", o->as_json, "print one JSON object");
      app.add_option("--cost-per-hour", o->cost_per_hour, "machine cost in USD per hour");
      app.add_option("--watts", o->watts, "power draw in W (with --kwh-price)");
      app.add_option("--kwh-price", o->kwh_price, "electricity price in USD per kWh (with --watts)");
      return [o] { return run_bench(*o); };
    });

}  // namespace
}  // namespace pocket
