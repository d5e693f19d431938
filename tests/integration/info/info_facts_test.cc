// `pocket info --json --tensors` against ../shared/reference/facts.json: for every GGUF file in ../shared
// (reference models and vocab-only files), the architecture, counts and every tensor's name, type, shape and offset
// must agree. Also the CLI contract: default model, --dequant, errors and exit codes.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace pocket {
namespace {

using nlohmann::json;
using testing::pocket_bin;
using testing::run_command;
using testing::shared_dir;

std::string locate(const std::string& file) {
  for (const char* dir : {"/reference/models/", "/vocab/", "/models/tiny-stories/"}) {
    std::string path = shared_dir() + dir + file;
    if (std::filesystem::exists(path)) return path;
  }
  return "";
}

json info_json(const std::string& args) {
  auto r = run_command(pocket_bin() + " info --json --tensors " + args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return json();
  return json::parse(r.out);
}

TEST(InfoFacts, EveryGgufInSharedAgreesWithFacts) {
  json facts = json::parse(testing::read_file(shared_dir() + "/reference/facts.json"));
  ASSERT_GT(facts.size(), 20u);
  int checked = 0;
  for (const auto& [file, expected] : facts.items()) {
    SCOPED_TRACE(file);
    std::string path = locate(file);
    ASSERT_FALSE(path.empty()) << "facts.json names a file not found in shared: " << file;
    json got = info_json("-m '" + path + "'");
    for (const char* key : {"file_size", "gguf_version", "architecture", "n_params", "n_tensors", "vocab_size",
                            "tokenizer_model", "has_chat_template", "n_layer", "n_embd"}) {
      if (expected.contains(key)) {
        EXPECT_EQ(got[key], expected[key]) << key;
      }
    }
    ASSERT_EQ(got["tensors"].size(), expected["tensors"].size());
    for (size_t t = 0; t < expected["tensors"].size(); ++t) {
      const auto& e = expected["tensors"][t];
      const auto& g = got["tensors"][t];
      EXPECT_EQ(g["name"], e["name"]);
      EXPECT_EQ(g["type"], e["type"]) << e["name"];
      EXPECT_EQ(g["shape"], e["shape"]) << e["name"];
      EXPECT_EQ(g["offset"], e["offset"]) << e["name"];
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(facts.size()));
}

TEST(InfoCli, EmbeddedModelIsTheDefault) {
  json got = info_json("");
  EXPECT_EQ(got["architecture"], "llama");
  EXPECT_EQ(got["name"], "tiny-stories-260K");
  EXPECT_EQ(got["n_params"], 260032);  // models/tiny-stories/README.md
  EXPECT_EQ(got["vocab_size"], 512);
  EXPECT_EQ(got["n_layer"], 5);
  EXPECT_EQ(got["n_embd"], 64);
  EXPECT_EQ(got["tokenizer_model"], "llama");
  EXPECT_EQ(got["dtype_bytes"]["F32"], 260032 * 4);
  EXPECT_DOUBLE_EQ(got["bits_per_weight"].get<double>(), 32.0);
  // Long arrays are summarized, short ones listed.
  EXPECT_EQ(got["metadata"]["tokenizer.ggml.tokens"]["length"], 512);
  EXPECT_EQ(got["metadata"]["tokenizer.ggml.tokens"]["type"], "string");
}

TEST(InfoCli, EmbeddedModelMatchesTheSharedFileByteForByte) {
  std::string shared = shared_dir() + "/models/tiny-stories/tiny-stories.gguf";
  json a = info_json("");
  json b = info_json("-m '" + shared + "'");
  EXPECT_EQ(a["file_size"], b["file_size"]);
  EXPECT_EQ(a["tensors"], b["tensors"]);
  EXPECT_EQ(a["metadata"], b["metadata"]);
}

TEST(InfoCli, TextOutputNamesTheModel) {
  auto r = run_command(pocket_bin() + " info");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("tiny-stories-260K"), std::string::npos);
}

TEST(InfoCli, DequantWritesRawFloat32) {
  std::string model = shared_dir() + "/reference/models/llama-gqa-Q4_K.gguf";
  auto r = run_command(pocket_bin() + " info -m '" + model + "' --dequant blk.0.attn_q.weight");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string expected = testing::read_file(shared_dir() + "/reference/dequant/llama-gqa-Q4_K/blk.0.attn_q.weight.f32");
  ASSERT_EQ(r.out.size(), 256u * 256u * 4u);
  EXPECT_TRUE(r.out == expected) << "dequantized bytes differ from llama.cpp's";
}

TEST(InfoCli, DequantOfUnknownTensorIsBadInput) {
  auto r = run_command(pocket_bin() + " info --dequant no.such.tensor");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no.such.tensor"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(InfoCli, MissingFileIsBadInputNamingTheFile) {
  auto r = run_command(pocket_bin() + " info -m /nonexistent/model.gguf");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("pocket: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/model.gguf"), std::string::npos) << r.err;
}

TEST(InfoCli, NotAGgufFileIsBadInput) {
  std::string path = ::testing::TempDir() + "/not-a-model.gguf";
  { std::FILE* f = std::fopen(path.c_str(), "wb"); std::fputs("hello, this is text", f); std::fclose(f); }
  auto r = run_command(pocket_bin() + " info -m '" + path + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a GGUF file"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
}

TEST(InfoCli, UnknownFlagIsBadInput) {
  auto r = run_command(pocket_bin() + " info --no-such-flag");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--no-such-flag"), std::string::npos) << r.err;
}

TEST(InfoCli, HelpListsTheFlags) {
  auto r = run_command(pocket_bin() + " info --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--model", "--tensors", "--json", "--dequant"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace pocket
