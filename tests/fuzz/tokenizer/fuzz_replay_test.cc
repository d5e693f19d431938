// Replays a few hundred random byte strings through the tokenizer fuzz body without libFuzzer, so the normal CI
// build covers it: every vocabulary in ../shared/vocab that pocket supports, plus the embedded model's.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "format/gguf.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_fuzz_target.h"

namespace pocket {
namespace {

// Random inputs biased towards what breaks tokenizers: UTF-8 fragments, invalid sequences, whitespace runs,
// digits, apostrophes and special-token texts.
std::vector<std::string> random_inputs(uint64_t seed, int count) {
  const std::vector<std::string> atoms = {
      "a", "Z", " ", "  ", "\n", "\r\n", "\t", "'s", "'LL", "0", "123", "!", "?", ".", ",", "~", "\xC3\xA9",
      "\xE4\xB8\xAD", "\xF0\x9F\xA6\x99", "\xE3\x80\x80", "\xE2\x80\xA8", "\xC2\xA0", "\xC3", "\xE2\x82", "\xFF",
      "\x80", "\xED\xA0\x80", "\xC0\x80", "\xF4\x90\x80\x80", "<s>", "</s>", "<unk>", "<|endoftext|>", "\xE2\x96\x81",
      "<0x41>", "\x00", "\x1C", "[PAD102395]", "<|end|>"};
  uint64_t state = seed;
  auto next = [&] {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return state;
  };
  std::vector<std::string> inputs;
  for (int i = 0; i < count; ++i) {
    std::string s;
    size_t n = next() % 24;
    for (size_t k = 0; k < n; ++k) {
      if (next() % 4 == 0) {
        s += static_cast<char>(next() & 0xFF);
      } else {
        s += atoms[next() % atoms.size()];
      }
    }
    inputs.push_back(s);
  }
  return inputs;
}

TEST(TokenizerFuzzReplay, RandomBytes) {
  std::vector<std::string> paths = {pocket::testing::shared_dir() + "/models/tiny-stories/tiny-stories.gguf"};
  for (const auto& entry : std::filesystem::directory_iterator(pocket::testing::shared_dir() + "/vocab")) {
    if (entry.path().extension() == ".gguf") paths.push_back(entry.path().string());
  }
  int vocabularies = 0;
  for (const std::string& path : paths) {
    auto file = GgufFile::open(path);
    ASSERT_TRUE(file.ok()) << file.status().message();
    auto tokenizer = Tokenizer::from_gguf(*file);
    if (!tokenizer.ok()) continue;  // e.g. bert-bge: unsupported tokenizer model, an error (tested elsewhere)
    ++vocabularies;
    SCOPED_TRACE(path);
    for (const std::string& input : random_inputs(0x1234567 + vocabularies, 300)) {
      fuzz_tokenizer_once(*tokenizer, reinterpret_cast<const uint8_t*>(input.data()), input.size());
    }
  }
  EXPECT_GE(vocabularies, 7);
}

}  // namespace
}  // namespace pocket
