// `pocket tradeoff -m tiny-stories.gguf -f tinystory-eval.txt --types Q8_0,Q4_K_M -c 128 --chunks 6`: every type
// is quantized into --out-dir and measured; tradeoff.json has one row per model (the original first, KLD 0,
// top-1 1) with sizes equal to the files', bits per weight, speeds and KLDs ordered as quantization coarsens;
// the KLD equals `pocket perplexity --kl-divergence`'s on the same file; tradeoff.svg is an SVG naming each type.
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace pocket {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(Tradeoff, TableJsonAndSvg) {
  const fs::path dir = fs::temp_directory_path() / ("pocket-tradeoff-" + std::to_string(::getpid()));
  const std::string model = testing::shared_dir() + "/models/tiny-stories/tiny-stories.gguf";
  const std::string text = testing::shared_dir() + "/text/tinystory-eval.txt";
  auto r = testing::run_command(testing::pocket_bin() + " tradeoff -m " + model + " -f " + text +
                                " --types Q8_0,q4_k_m -c 128 --chunks 6 --threads 2 --out-dir " + dir.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Q4_K_M"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("KLD"), std::string::npos) << r.out;

  const json j = json::parse(testing::read_file((dir / "tradeoff.json").string()));
  EXPECT_EQ(j["n_ctx"], 128);
  EXPECT_EQ(j["n_chunks"], 6);
  ASSERT_EQ(j["rows"].size(), 3u);
  const json& orig = j["rows"][0];
  const json& q8 = j["rows"][1];
  const json& q4 = j["rows"][2];
  EXPECT_TRUE(orig["original"].get<bool>());
  EXPECT_EQ(orig["kld"].get<double>(), 0.0);
  EXPECT_EQ(orig["bpw"].get<double>(), 32.0);
  EXPECT_EQ(q8["type"], "Q8_0");
  EXPECT_EQ(q4["type"], "Q4_K_M");
  for (const json* row : {&q8, &q4}) {
    SCOPED_TRACE((*row)["type"].get<std::string>());
    EXPECT_EQ((*row)["file_size"].get<uint64_t>(), fs::file_size((*row)["path"].get<std::string>()));
    EXPECT_LT((*row)["bpw"].get<double>(), 32.0);
    EXPECT_GT((*row)["prefill_tps"].get<double>(), 0.0);
    EXPECT_GT((*row)["decode_tps"].get<double>(), 0.0);
    EXPECT_GT((*row)["kld"].get<double>(), 0.0);
    EXPECT_LE((*row)["top1_agreement"].get<double>(), 1.0);
  }
  EXPECT_LT(q8["kld"].get<double>(), q4["kld"].get<double>());
  EXPECT_GT(q8["bpw"].get<double>(), q4["bpw"].get<double>());

  // The same KLD as pocket perplexity against the saved base.
  auto k = testing::run_command(testing::pocket_bin() + " perplexity -m " + q4["path"].get<std::string>() +
                                " --kl-divergence-base " + (dir / "base.kld").string() +
                                " --kl-divergence --json --threads 2");
  ASSERT_EQ(k.exit_code, 0) << k.err;
  EXPECT_NEAR(json::parse(k.out)["kld"].get<double>(), q4["kld"].get<double>(), 1e-9);

  const std::string svg = testing::read_file((dir / "tradeoff.svg").string());
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("Q8_0"), std::string::npos);
  EXPECT_NE(svg.find("Q4_K_M"), std::string::npos);
  fs::remove_all(dir);

  auto bad = testing::run_command(testing::pocket_bin() + " tradeoff -m " + model + " -f " + text +
                                  " --types Q9_9 --out-dir " + dir.string());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("Q9_9"), std::string::npos) << bad.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pocket
