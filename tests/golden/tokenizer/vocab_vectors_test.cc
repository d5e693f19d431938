// llama.cpp's tokenizer test vectors (../shared/vocab/ggml-vocab-*.gguf with .inp/.out): exact ids with
// add_special and parse_special off, round trip through decode, and streaming decode; plus the embedded
// tiny-stories prompt of ../shared/reference.
#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/utf8.h"
#include "format/gguf.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace pocket {
namespace {

using pocket::testing::read_file;
using pocket::testing::shared_dir;

struct VectorFile {
  std::string vocab_path;
  std::vector<std::string> inputs;
  std::vector<std::vector<int32_t>> expected;
};

// Splits .inp exactly as llama.cpp's tests/test-tokenizer-0.cpp: on "\n__ggml_vocab_test__\n"; a trailing
// separator does not start another input. .out: one line of space-separated ids per input.
VectorFile read_vectors(const std::string& vocab_path) {
  VectorFile v;
  v.vocab_path = vocab_path;
  const std::string raw = read_file(vocab_path + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      v.inputs.push_back(raw.substr(pos));
      break;
    }
    v.inputs.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::istringstream out(read_file(vocab_path + ".out"));
  for (std::string line; std::getline(out, line);) {
    std::istringstream ids(line);
    std::vector<int32_t> row;
    for (int32_t id; ids >> id;) row.push_back(id);
    v.expected.push_back(row);
  }
  return v;
}

std::vector<std::string> vocab_files_with_vectors() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(shared_dir() + "/vocab")) {
    std::string path = entry.path().string();
    std::string name = entry.path().filename().string();
    if (name.rfind("ggml-vocab-", 0) == 0 && name.size() > 5 && name.substr(name.size() - 5) == ".gguf" &&
        std::filesystem::exists(path + ".inp") && std::filesystem::exists(path + ".out")) {
      files.push_back(path);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

Tokenizer load(const std::string& path) {
  auto file = GgufFile::open(path);
  EXPECT_TRUE(file.ok()) << file.status().message();
  auto tokenizer = Tokenizer::from_gguf(*file);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status().message();
  return std::move(tokenizer).value();
}

std::string ids_text(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += std::to_string(id) + " ";
  return s;
}

std::string stream(const Tokenizer& tokenizer, const std::vector<int32_t>& ids, bool* all_valid) {
  StreamingDetokenizer detok(tokenizer);
  std::string out;
  for (int32_t id : ids) {
    std::string piece = detok.push(id);
    if (!is_valid_utf8(piece)) *all_valid = false;
    out += piece;
  }
  std::string tail = detok.flush();
  if (!is_valid_utf8(tail)) *all_valid = false;
  return out + tail;
}

TEST(VocabVectors, AllVocabFilesHaveVectors) {
  std::vector<std::string> files = vocab_files_with_vectors();
  // llama-spm, phi-3, gpt-2, deepseek-llm, starcoder at least; more may be added to ../shared/vocab.
  EXPECT_GE(files.size(), 5u);
}

// Every input tokenizes to exactly the expected ids (add_special = false, parse_special = false).
TEST(VocabVectors, ExactIds) {
  for (const std::string& path : vocab_files_with_vectors()) {
    SCOPED_TRACE(path);
    VectorFile v = read_vectors(path);
    ASSERT_EQ(v.inputs.size(), v.expected.size()) << "inputs and output lines differ in number";
    Tokenizer tokenizer = load(path);
    size_t passed = 0;
    for (size_t i = 0; i < v.inputs.size(); ++i) {
      std::vector<int32_t> got = tokenizer.encode(v.inputs[i], false, false);
      EXPECT_EQ(ids_text(got), ids_text(v.expected[i])) << "input " << i << ": '" << v.inputs[i] << "'";
      passed += got == v.expected[i];
    }
    std::printf("%s: %zu/%zu inputs tokenize exactly\n", std::filesystem::path(path).filename().c_str(), passed,
                v.inputs.size());
  }
}

// Inputs that do not survive decode(encode(x)) == x, with the reason. Byte-level BPE vocabularies whose
// pre-tokenizer sets clean_up_tokenization_spaces (gpt-2, starcoder: llama.cpp's clean_spaces) drop the space
// before . , ! ? and before 's 'm 're 've, and collapse " ' " to "'" when decoding: not lossless there.
// In the current vectors these are the two inputs with " ?" ("...you 😁 ?我想...", and the long mixed input that
// also has " ?" and " 'M"); any further vector file is checked the same way.
bool cleaned_by_decode(const std::string& input) {
  std::string cleaned = input;
  Tokenizer::clean_spaces(cleaned);
  return cleaned != input;
}

TEST(VocabVectors, RoundTripAndStreaming) {
  for (const std::string& path : vocab_files_with_vectors()) {
    SCOPED_TRACE(path);
    VectorFile v = read_vectors(path);
    Tokenizer tokenizer = load(path);
    size_t lossless = 0, cleaned = 0;
    for (size_t i = 0; i < v.inputs.size() && i < v.expected.size(); ++i) {
      const std::string& input = v.inputs[i];
      const std::vector<int32_t>& ids = v.expected[i];
      std::string decoded = tokenizer.decode(ids);
      if (tokenizer.cleans_spaces() && cleaned_by_decode(input)) {
        // Documented loss: exactly llama.cpp's clean-up of the input text.
        std::string expect = input;
        Tokenizer::clean_spaces(expect);
        EXPECT_EQ(decoded, expect) << "input " << i;
        ++cleaned;
      } else {
        // SentencePiece: the leading space the encoder adds is removed again (add_space_prefix), so the text
        // comes back exactly; byte-level BPE is lossless.
        EXPECT_EQ(decoded, input) << "input " << i;
        lossless += decoded == input;
      }
      bool valid = true;
      EXPECT_EQ(stream(tokenizer, ids, &valid), decoded) << "streaming, input " << i;
      if (is_valid_utf8(decoded)) {
        EXPECT_TRUE(valid) << "streaming emitted invalid UTF-8, input " << i;
      }
    }
    std::printf("%s: %zu lossless round trips, %zu changed only by the documented space clean-up\n",
                std::filesystem::path(path).filename().c_str(), lossless, cleaned);
    const std::string name = std::filesystem::path(path).filename().string();
    if (name == "ggml-vocab-gpt-2.gguf" || name == "ggml-vocab-starcoder.gguf") {
      EXPECT_EQ(cleaned, 2u) << "inputs 32 and 45 are the only ones the clean-up changes";
    } else if (!tokenizer.cleans_spaces()) {
      EXPECT_EQ(cleaned, 0u);
    }
  }
}

// Streaming equals whole-sequence decoding for arbitrary id sequences too (ids of every kind, incl. bytes).
TEST(VocabVectors, StreamingRandomIds) {
  for (const std::string& path : vocab_files_with_vectors()) {
    SCOPED_TRACE(path);
    Tokenizer tokenizer = load(path);
    uint64_t state = 0x9E3779B97F4A7C15ull;
    auto next = [&] {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      return state;
    };
    for (int round = 0; round < 200; ++round) {
      std::vector<int32_t> ids(next() % 40);
      for (int32_t& id : ids) id = static_cast<int32_t>(next() % tokenizer.n_vocab());
      for (bool render_special : {false, true}) {
        StreamingDetokenizer detok(tokenizer, render_special);
        std::string out;
        for (int32_t id : ids) out += detok.push(id);
        out += detok.flush();
        ASSERT_EQ(out, tokenizer.decode(ids, render_special)) << "round " << round;
      }
    }
  }
}

// The embedded model's tok512 vocabulary reproduces llama.cpp's prompt_tokens of every reference file.
TEST(TinyStories, ReferencePrompt) {
  Tokenizer tokenizer = load(shared_dir() + "/models/tiny-stories/tiny-stories.gguf");
  const std::string prompt =
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her "
      "friends.";
  std::string readme = read_file(shared_dir() + "/reference/README.md");
  std::replace(readme.begin(), readme.end(), '\n', ' ');  // the prompt is wrapped across lines there
  ASSERT_NE(readme.find(prompt), std::string::npos)
      << "the prompt text changed in reference/README.md";
  std::vector<int32_t> got = tokenizer.encode(prompt, /*add_special=*/true, /*parse_special=*/true);
  size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(shared_dir() + "/reference/refs")) {
    if (entry.path().extension() != ".json") continue;
    auto json = nlohmann::json::parse(read_file(entry.path().string()));
    std::vector<int32_t> expected = json.at("prompt_tokens").get<std::vector<int32_t>>();
    ASSERT_EQ(ids_text(got), ids_text(expected)) << entry.path();
    ++checked;
  }
  EXPECT_GT(checked, 0u);
  EXPECT_EQ(got.size(), 36u);
  EXPECT_EQ(got.front(), 1);
  // The SentencePiece leading space is removed from the first token only (llama.cpp's detokenize): after a BOS
  // (which renders as nothing) the first word keeps it.
  EXPECT_EQ(tokenizer.decode(std::span<const int32_t>(got).subspan(1)), prompt);
  EXPECT_EQ(tokenizer.decode(got), std::string(" ").append(prompt));
}

}  // namespace
}  // namespace pocket
