// For every refs file in ../shared/reference/refs: run `pocket logits --json` on its model with its settings and
// compare exactly as ../shared/reference/README.md says:
//   - at every position, the logits of the reference's top-10 ids and the log-sum-exp, within the tolerance;
//   - all of last_logits within the tolerance;
//   - the top-1 id wherever the reference's top-1/top-2 margin exceeds the threshold;
//   - the greedy tokens up to the first step whose margin is below the threshold.
// Tolerances (never loosen them): F32 .f32kv and any .dequant-f32kv 2e-3 / margin 1e-2; .f16kv 2e-2 / 5e-2;
// .f16kv-fa 3e-2 / 5e-2; a quantized model's own .f32kv (activation-quantized path) 0.35 / 0.7.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct RefCase {
  std::string stem;   // e.g. "llama-gqa-Q4_0.dequant-f32kv"
  std::string model;  // e.g. "llama-gqa-Q4_0"
  std::string kind;   // f32kv, f16kv, f16kv-fa, dequant-f32kv
};

std::vector<RefCase> ref_cases() {
  std::vector<RefCase> cases;
  const fs::path dir = fs::path(pocket::testing::shared_dir()) / "reference" / "refs";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json") continue;
    const std::string stem = entry.path().stem().string();
    const size_t dot = stem.find('.');
    if (dot == std::string::npos) continue;
    cases.push_back({stem, stem.substr(0, dot), stem.substr(dot + 1)});
  }
  std::sort(cases.begin(), cases.end(), [](const RefCase& a, const RefCase& b) { return a.stem < b.stem; });
  return cases;
}

struct Tolerance {
  double logit;
  double margin;
};

Tolerance tolerance_for(const RefCase& c) {
  const bool quantized = c.model.rfind("llama-gqa-", 0) == 0;
  if (c.kind == "dequant-f32kv") return {2e-3, 1e-2};
  if (c.kind == "f16kv") return {2e-2, 5e-2};
  if (c.kind == "f16kv-fa") return {3e-2, 5e-2};
  if (quantized) return {0.35, 0.7};
  return {2e-3, 1e-2};
}

std::string join_ids(const json& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : " ") + std::to_string(id.get<int>());
  return out;
}

class ReferenceLogits : public ::testing::TestWithParam<RefCase> {};

TEST_P(ReferenceLogits, MatchesLlamaCpp) {
  const RefCase& c = GetParam();
  const std::string shared = pocket::testing::shared_dir();
  const json ref = json::parse(pocket::testing::read_file(shared + "/reference/refs/" + c.stem + ".json"));
  const Tolerance tol = tolerance_for(c);
  const std::string kv = c.kind.find("f16") != std::string::npos ? "f16" : "f32";
  const std::string path = c.kind == "dequant-f32kv" ? "exact" : "fast";
  const int n_greedy = static_cast<int>(ref["greedy"]["tokens"].size());
  const std::string cmd = fmt::format(
      "'{}' logits -m '{}/reference/models/{}.gguf' --tokens '{}' --top 64 --kv-type {} --greedy {} "
      "--last-logits --path {} --ctx {} --threads 2 --json",
      pocket::testing::pocket_bin(), shared, c.model, join_ids(ref["prompt_tokens"]), kv, n_greedy, path,
      ref["settings"]["n_ctx"].get<int>());
  const auto result = pocket::testing::run_command(cmd);
  ASSERT_EQ(result.exit_code, 0) << cmd << "\n" << result.err;
  const json out = json::parse(result.out);
  ASSERT_EQ(out["prompt_tokens"], ref["prompt_tokens"]);
  ASSERT_EQ(out["positions"].size(), ref["positions"].size());

  double max_top = 0, max_lse = 0, max_last = 0;
  for (size_t p = 0; p < ref["positions"].size(); ++p) {
    const json& rp = ref["positions"][p];
    const json& op = out["positions"][p];
    std::map<int, double> ours;
    for (const auto& pair : op["top"]) ours[pair[0].get<int>()] = pair[1].get<double>();
    for (size_t k = 0; k < 10 && k < rp["top"].size(); ++k) {
      const int id = rp["top"][k][0].get<int>();
      ASSERT_TRUE(ours.count(id)) << "position " << p << ": reference top-10 id " << id << " not in our top-64";
      const double diff = std::fabs(ours[id] - rp["top"][k][1].get<double>());
      max_top = std::max(max_top, diff);
      EXPECT_LE(diff, tol.logit) << "position " << p << " id " << id;
    }
    const double lse = std::fabs(op["logsumexp"].get<double>() - rp["logsumexp"].get<double>());
    max_lse = std::max(max_lse, lse);
    EXPECT_LE(lse, tol.logit) << "log-sum-exp at position " << p;
    const double margin = rp["top"][0][1].get<double>() - rp["top"][1][1].get<double>();
    if (margin > tol.margin) {
      EXPECT_EQ(op["top"][0][0].get<int>(), rp["top"][0][0].get<int>()) << "top-1 at position " << p;
    }
  }
  ASSERT_EQ(out["last_logits"].size(), ref["last_logits"].size());
  for (size_t i = 0; i < ref["last_logits"].size(); ++i) {
    const double diff = std::fabs(out["last_logits"][i].get<double>() - ref["last_logits"][i].get<double>());
    max_last = std::max(max_last, diff);
    EXPECT_LE(diff, tol.logit) << "last_logits[" << i << "]";
  }
  int checked = 0;
  for (int s = 0; s < n_greedy; ++s) {
    if (ref["greedy"]["margins"][s].get<double>() < tol.margin) break;
    ASSERT_EQ(out["greedy"]["tokens"][s].get<int>(), ref["greedy"]["tokens"][s].get<int>()) << "greedy step " << s;
    ++checked;
  }
  RecordProperty("max_top10_diff", fmt::format("{:.3g}", max_top));
  std::printf("%s: max |top-10 logit diff| %.3g, |lse diff| %.3g, |last_logits diff| %.3g (tolerance %g); "
              "greedy %d/%d steps checked\n", c.stem.c_str(), max_top, max_lse, max_last, tol.logit, checked,
              n_greedy);
}

INSTANTIATE_TEST_SUITE_P(Refs, ReferenceLogits, ::testing::ValuesIn(ref_cases()),
                         [](const ::testing::TestParamInfo<RefCase>& info) {
                           std::string name = info.param.stem;
                           for (auto& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

TEST(ReferenceLogitsCoverage, EveryModelHasReferences) {
  // Guards against an empty or misplaced shared folder silently running zero cases.
  EXPECT_GE(ref_cases().size(), 47u);
}

}  // namespace
