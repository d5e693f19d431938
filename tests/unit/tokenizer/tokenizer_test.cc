// Tokenizer pieces in isolation: regex preparation and splitting, special-token partition, detokenizer clean-up,
// piece rendering and the streaming detokenizer's UTF-8 hold-back.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/utf8.h"
#include "format/gguf.h"
#include "test_support.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace pocket {
namespace {

Tokenizer load(const std::string& relative) {
  auto file = GgufFile::open(pocket::testing::shared_dir() + "/" + relative);
  EXPECT_TRUE(file.ok()) << file.status().message();
  auto tokenizer = Tokenizer::from_gguf(*file);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status().message();
  return std::move(tokenizer).value();
}

std::vector<std::string> split(const std::string& pre, const std::string& text) {
  auto spec = find_pre_tokenizer(pre);
  EXPECT_TRUE(spec.ok()) << spec.status().message();
  auto pre_tokenizer = PreTokenizer::create(spec->regexes);
  EXPECT_TRUE(pre_tokenizer.ok()) << pre_tokenizer.status().message();
  std::vector<std::pair<size_t, size_t>> pieces;
  (*pre_tokenizer)->split(text, pieces);
  std::vector<std::string> out;
  for (const auto& [offset, length] : pieces) out.push_back(text.substr(offset, length));
  return out;
}

using Pieces = std::vector<std::string>;

TEST(PreTokenizer, WhitespaceClassesAreUnicodeWhiteSpace) {
  EXPECT_EQ(expand_whitespace_classes("a"), "a");
  std::string out = expand_whitespace_classes(R"(\s+(?!\S)|[^\s\p{L}])");
  EXPECT_EQ(out.find("\\s"), std::string::npos);
  EXPECT_EQ(out.find("\\S"), std::string::npos);
  EXPECT_NE(out.find("\\x{3000}"), std::string::npos);
  EXPECT_EQ(out.find("180E"), std::string::npos);  // PCRE2's \s has U+180E; Unicode White_Space does not
}

TEST(PreTokenizer, LlamaCppRegexQuirks) {
  // '~' is not \p{S} in llama.cpp's collapsed regexes.
  EXPECT_EQ(emulate_llama_regex(R"( ?[\p{P}\p{S}]+)"), R"( ?(?:(?!~)[\p{P}\p{S}])+)");
  EXPECT_EQ(emulate_llama_regex(R"([^\r\n\p{L}\p{P}\p{S}]?)"), R"((?:~|[^\r\n\p{L}\p{P}\p{S}])?)");
  // Non-ASCII whitespace never matches literal non-ASCII ranges of category-free regexes.
  EXPECT_NE(emulate_llama_regex(R"([\x{0800}-\x{4E00}]+)").find("(?!["), std::string::npos);
  EXPECT_EQ(emulate_llama_regex("[0-9][0-9]"), "[0-9][0-9]");
}

TEST(PreTokenizer, Gpt2) {
  EXPECT_EQ(split("gpt-2", "Hello world's  test\n\n"),
            (Pieces{"Hello", " world", "'s", " ", " test", "\n\n"}));
  EXPECT_EQ(split("gpt-2", ""), Pieces{});
}

TEST(PreTokenizer, Llama3GroupsDigitsByThree) {
  EXPECT_EQ(split("llama3", "1234567 I'VE"), (Pieces{"123", "456", "7", " I", "'VE"}));
  EXPECT_EQ(split("llama-bpe", "a\r\n\r\n b"), (Pieces{"a", "\r\n\r\n", " b"}));
}

TEST(PreTokenizer, Qwen2SplitsDigits) { EXPECT_EQ(split("qwen2", "x123"), (Pieces{"x", "1", "2", "3"})); }

TEST(PreTokenizer, DeepseekLlmIdeographicSpaceIsWhitespace) {
  // U+3000 lies inside the CJK range [U+0800-U+4E00] but llama.cpp sees it as whitespace.
  EXPECT_EQ(split("deepseek-llm", "\xE4\xB8\xAD\xE3\x80\x80"), (Pieces{"\xE4\xB8\xAD", "\xE3\x80\x80"}));
}

TEST(PreTokenizer, DeepseekV3Tilde) {
  EXPECT_EQ(split("deepseek-v3", "~'s"), (Pieces{"~", "'s"}));
}

TEST(PreTokenizer, KnownNames) {
  std::vector<std::string> names = supported_pre_tokenizers();
  for (const char* required : {"default", "gpt-2", "llama3", "llama-bpe", "qwen2", "deepseek-llm", "deepseek-coder",
                               "falcon", "mpt", "starcoder", "refact", "phi-2", "smollm", "command-r", "olmo", "dbrx",
                               "smaug-bpe", "poro-chat", "chatglm-bpe", "viking", "jais", "tekken", "bloom",
                               "gpt3-finnish", "exaone", "chameleon", "minerva-7b", "deepseek-v3"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), required), names.end()) << required;
    EXPECT_TRUE(find_pre_tokenizer(required).ok()) << required;
  }
  EXPECT_TRUE(find_pre_tokenizer("").ok());  // absent key: "default"
  auto unknown = find_pre_tokenizer("nope");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("tokenizer.ggml.pre"), std::string::npos);
}

TEST(Detokenize, CleanSpacesLikeLlamaCpp) {
  auto clean = [](std::string s) {
    Tokenizer::clean_spaces(s);
    return s;
  };
  EXPECT_EQ(clean("Hello , world !"), "Hello, world!");
  EXPECT_EQ(clean("a ' b"), "a'b");
  EXPECT_EQ(clean("it 's I 'm we 're you 've"), "it's I'm we're you've");
  EXPECT_EQ(clean("don 't he 'd we 'll"), "don 't he 'd we 'll");  // llama.cpp keeps these
  EXPECT_EQ(clean(""), "");
  EXPECT_EQ(clean(" ."), ".");
}

TEST(Detokenize, SpecialTokensAndInvalidIds) {
  Tokenizer tok = load("models/tiny-stories/tiny-stories.gguf");
  EXPECT_EQ(tok.token_to_piece(1), "");
  EXPECT_EQ(tok.token_to_piece(1, true), "<s>");
  EXPECT_EQ(tok.token_to_piece(3 + '\n'), "\n");  // <0x0A>
  EXPECT_EQ(tok.token_to_piece(-1), "");
  EXPECT_EQ(tok.token_to_piece(tok.n_vocab()), "");
  std::vector<int32_t> ids = {1, -5, 100000, 2};
  EXPECT_EQ(tok.decode(ids), "");
  EXPECT_EQ(tok.decode(ids, true), "<s></s>");
  EXPECT_TRUE(tok.is_end_of_generation(tok.eos_id()));
  EXPECT_FALSE(tok.is_end_of_generation(tok.bos_id()));
  EXPECT_TRUE(tok.add_bos());
}

TEST(Encode, ParseSpecial) {
  Tokenizer tok = load("models/tiny-stories/tiny-stories.gguf");
  std::vector<int32_t> parsed = tok.encode("<s>Hi</s>", false, true);
  ASSERT_GE(parsed.size(), 3u);
  EXPECT_EQ(parsed.front(), 1);
  EXPECT_EQ(parsed.back(), 2);
  std::vector<int32_t> plain = tok.encode("<s>Hi</s>", false, false);
  for (int32_t id : plain) EXPECT_NE(id, 1);
  EXPECT_EQ(tok.decode(plain), "<s>Hi</s>");
  // add_special: BOS per add_bos_token; no EOS (add_eos_token false).
  EXPECT_EQ(tok.encode("", true, false), std::vector<int32_t>{1});
  EXPECT_EQ(tok.encode("", false, false), std::vector<int32_t>{});
}

TEST(Encode, UserDefinedTokensAreMatchedEvenWithoutParseSpecial) {
  // deepseek-llm has 2398 user-defined tokens, e.g. "[PAD102395]" (ids checked against llama-tokenize).
  Tokenizer tok = load("vocab/ggml-vocab-deepseek-llm.gguf");
  std::vector<int32_t> ids = tok.encode("xx[PAD102395]yy", false, false);
  EXPECT_EQ(ids, (std::vector<int32_t>{5133, 102395, 14423}));
  EXPECT_EQ(tok.decode(ids), "xx[PAD102395]yy");
}

TEST(Encode, Phi3SpecialTokensStripWhitespaceAfterThem) {
  // llama.cpp marks Phi-3's special tokens (by general.name) as right-stripping; its "</s>" became a control
  // token (end of generation), so it is only matched with parse_special.
  Tokenizer tok = load("vocab/ggml-vocab-phi-3.gguf");
  EXPECT_EQ(tok.encode("a</s>  b<|end|>  c", false, true), (std::vector<int32_t>{263, 2, 289, 32007, 274}));
  EXPECT_EQ(tok.encode("a</s>  b", false, false), (std::vector<int32_t>{263, 829, 29879, 29958, 29871, 289}));
}

TEST(Encode, Gpt2ControlTokenOnlyWithParseSpecial) {
  Tokenizer tok = load("vocab/ggml-vocab-gpt-2.gguf");
  EXPECT_EQ(tok.encode("<|endoftext|>", false, true), std::vector<int32_t>{50256});
  EXPECT_GT(tok.encode("<|endoftext|>", false, false).size(), 1u);
  EXPECT_TRUE(tok.is_end_of_generation(50256));
}

TEST(Streaming, HoldsIncompleteUtf8) {
  Tokenizer tok = load("models/tiny-stories/tiny-stories.gguf");
  // "é" = C3 A9 as two byte tokens: nothing comes out until the character is complete.
  StreamingDetokenizer detok(tok);
  EXPECT_EQ(detok.push(3 + 0xC3), "");
  EXPECT_EQ(detok.push(3 + 0xA9), "\xC3\xA9");
  EXPECT_EQ(detok.flush(), "");
  // An incomplete tail comes out at flush (the exact bytes of decode()).
  EXPECT_EQ(detok.push(3 + 0xE4), "");
  EXPECT_EQ(detok.flush(), "\xE4");
}

TEST(Streaming, CleanSpacesHoldBack) {
  Tokenizer tok = load("vocab/ggml-vocab-gpt-2.gguf");
  std::vector<int32_t> ids = tok.encode("Hello , world ! It 's fine ' ok", false, false);
  StreamingDetokenizer detok(tok);
  std::string out;
  for (int32_t id : ids) {
    std::string piece = detok.push(id);
    EXPECT_TRUE(is_valid_utf8(piece));
    out += piece;
  }
  out += detok.flush();
  EXPECT_EQ(out, tok.decode(ids));
  EXPECT_EQ(out, "Hello, world! It's fine'ok");
}

}  // namespace
}  // namespace pocket
