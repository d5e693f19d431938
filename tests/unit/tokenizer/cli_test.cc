// `pocket tokenize` / `pocket detokenize` run as a user would (CLI.md): on the embedded model and on vocab-only
// GGUF files, exact stdout bytes and exit codes.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace pocket {
namespace {

using pocket::testing::pocket_bin;
using pocket::testing::run_command;
using pocket::testing::shared_dir;

std::string vocab(const std::string& name) { return shared_dir() + "/vocab/ggml-vocab-" + name + ".gguf"; }

TEST(TokenizeCli, EmbeddedModelReferencePrompt) {
  const std::string prompt =
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her "
      "friends.";
  auto result = run_command(pocket_bin() + " tokenize --ids", prompt);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::string expected;
  for (const auto& entry : std::filesystem::directory_iterator(shared_dir() + "/reference/refs")) {
    if (entry.path().extension() != ".json") continue;
    auto json = nlohmann::json::parse(pocket::testing::read_file(entry.path().string()));
    for (int id : json.at("prompt_tokens")) {
      if (!expected.empty()) expected += ' ';
      expected += std::to_string(id);
    }
    break;
  }
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(result.out, expected + "\n");
}

TEST(TokenizeCli, VocabOnlyFileIdsAndTable) {
  auto ids = run_command(pocket_bin() + " tokenize --ids -m " + vocab("gpt-2"), "Hello world\n");
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  EXPECT_EQ(ids.out, "15496 995 198\n");  // the trailing newline is text too
  auto table = run_command(pocket_bin() + " tokenize -m " + vocab("gpt-2"), "Hello world\n");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out, " 15496 -> 'Hello'\n   995 -> ' world'\n   198 -> '\\n'\n");
}

TEST(TokenizeCli, SpecialFlags) {
  auto parsed = run_command(pocket_bin() + " tokenize --ids -m " + vocab("gpt-2"), "<|endoftext|>");
  ASSERT_EQ(parsed.exit_code, 0) << parsed.err;
  EXPECT_EQ(parsed.out, "50256\n");
  auto plain = run_command(pocket_bin() + " tokenize --ids --no-parse-special -m " + vocab("gpt-2"), "<|endoftext|>");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.out, "50256\n");
  auto with_bos = run_command(pocket_bin() + " tokenize --ids -m " + vocab("llama-spm"), "Hello");
  auto without = run_command(pocket_bin() + " tokenize --ids --no-add-special -m " + vocab("llama-spm"), "Hello");
  ASSERT_EQ(with_bos.exit_code, 0) << with_bos.err;
  EXPECT_EQ(with_bos.out, "1 " + without.out);
  auto empty = run_command(pocket_bin() + " tokenize --ids --no-add-special", "");
  EXPECT_EQ(empty.out, "\n");
}

TEST(DetokenizeCli, ExactBytes) {
  auto result = run_command(pocket_bin() + " detokenize -m " + vocab("gpt-2"), "15496 995\n198\n");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "Hello world\n");
  auto special = run_command(pocket_bin() + " detokenize --render-special -m " + vocab("gpt-2"), "50256 15496");
  EXPECT_EQ(special.out, "<|endoftext|>Hello");
}

TEST(DetokenizeCli, RoundTripSentencePiece) {
  const std::string text = "  Hello\n\tworld! \xF0\x9F\xA6\x99 \xE4\xB8\xAD";
  auto ids = run_command(pocket_bin() + " tokenize --ids --no-add-special -m " + vocab("llama-spm"), text);
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  auto back = run_command(pocket_bin() + " detokenize -m " + vocab("llama-spm"), ids.out);
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(back.out, text);
}

TEST(TokenizerCli, BadInput) {
  auto not_int = run_command(pocket_bin() + " detokenize", "1 2 x3");
  EXPECT_EQ(not_int.exit_code, 2);
  EXPECT_NE(not_int.err.find("x3"), std::string::npos) << not_int.err;
  EXPECT_EQ(not_int.out, "");
  auto range = run_command(pocket_bin() + " detokenize", "512");
  EXPECT_EQ(range.exit_code, 2);
  EXPECT_NE(range.err.find("512"), std::string::npos) << range.err;
  auto unsupported = run_command(pocket_bin() + " tokenize -m " + vocab("bert-bge"), "hi");
  EXPECT_EQ(unsupported.exit_code, 2);
  EXPECT_NE(unsupported.err.find("tokenizer.ggml.model"), std::string::npos) << unsupported.err;
  auto missing = run_command(pocket_bin() + " tokenize -m /nonexistent/file.gguf", "hi");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err.rfind("pocket: ", 0), 0u) << missing.err;
}

}  // namespace
}  // namespace pocket
