// Malformed vocabularies (built in memory with GgufWriter) give one clear error naming the key, never a crash.
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace pocket {
namespace {

// A small byte-level BPE vocabulary: the 256 byte tokens, "he", "ll", "hell", "hello" and a control token.
GgufWriter bpe_writer() {
  GgufWriter w;
  w.set_string("general.architecture", "gpt2");
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "gpt-2");
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) {
    uint32_t cp = byte_to_gpt2_codepoint(static_cast<uint8_t>(b));
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    tokens.push_back(s);
  }
  for (const char* t : {"he", "ll", "hell", "hello", "<|endoftext|>"}) tokens.push_back(t);
  std::vector<int32_t> types(tokens.size(), 1);
  types.back() = 3;
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_string_array("tokenizer.ggml.merges", {"h e", "l l", "he ll", "hell o"});
  w.set_u32("tokenizer.ggml.bos_token_id", 260);
  w.set_u32("tokenizer.ggml.eos_token_id", 260);
  return w;
}

// A small SentencePiece vocabulary: <unk> <s> </s>, the 256 byte tokens, then a few pieces with scores.
GgufWriter spm_writer() {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("tokenizer.ggml.model", "llama");
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(fmt::format("<0x{:02X}>", b));
    types.push_back(6);
  }
  // Merge path for "▁hello": he, ll, hell, hello, ▁hello (each pair's concatenation is a token).
  const std::pair<const char*, float> pieces[] = {{"\xE2\x96\x81", -10}, {"h", -10},   {"e", -10},    {"l", -10},
                                                  {"o", -10},            {"he", -1},   {"ll", -2},    {"hell", -3},
                                                  {"hello", -4},         {"\xE2\x96\x81hello", -5}};
  std::vector<float> scores(tokens.size(), 0.0f);
  for (const auto& [text, score] : pieces) {
    tokens.push_back(text);
    types.push_back(1);
    scores.push_back(score);
  }
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_f32_array("tokenizer.ggml.scores", scores);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
  return w;
}

// Loads the writer's bytes; returns the error message ("" if it loaded).
std::string load_error(const GgufWriter& writer) {
  std::vector<uint8_t> bytes = writer.to_bytes();
  auto file = GgufFile::from_bytes(bytes, "vocab.gguf");
  if (!file.ok()) return file.status().message();
  auto tokenizer = Tokenizer::from_gguf(*file);
  if (!tokenizer.ok()) {
    EXPECT_EQ(tokenizer.status().exit_code(), 2) << tokenizer.status().message();
    return tokenizer.status().message();
  }
  // A vocabulary that loads must tokenize anything without crashing.
  std::vector<int32_t> ids = tokenizer->encode("hello <|endoftext|> \xFF\xFE world", true, true);
  (void)tokenizer->decode(ids, true);
  return "";
}

Tokenizer load_ok(const GgufWriter& writer, std::vector<uint8_t>& bytes) {
  bytes = writer.to_bytes();
  auto file = GgufFile::from_bytes(bytes, "vocab.gguf");
  EXPECT_TRUE(file.ok()) << file.status().message();
  auto tokenizer = Tokenizer::from_gguf(*file);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status().message();
  return std::move(tokenizer).value();
}

void expect_error(const GgufWriter& writer, const std::vector<std::string>& fragments) {
  std::string message = load_error(writer);
  ASSERT_FALSE(message.empty()) << "expected an error mentioning " << fragments.front();
  for (const std::string& f : fragments) EXPECT_NE(message.find(f), std::string::npos) << message;
}

TEST(VocabValidation, WellFormedVocabulariesLoad) {
  EXPECT_EQ(load_error(bpe_writer()), "");
  EXPECT_EQ(load_error(spm_writer()), "");
}

TEST(VocabValidation, MissingOrUnsupportedModel) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  expect_error(w, {"tokenizer.ggml.model", "missing"});
  GgufWriter bert = spm_writer();
  bert.set_string("tokenizer.ggml.model", "bert");
  expect_error(bert, {"tokenizer.ggml.model", "bert"});
  GgufWriter wrong_type = spm_writer();
  wrong_type.set_u32("tokenizer.ggml.model", 7);
  expect_error(wrong_type, {"tokenizer.ggml.model"});
}

TEST(VocabValidation, TokenList) {
  GgufWriter none;
  none.set_string("tokenizer.ggml.model", "llama");
  expect_error(none, {"tokenizer.ggml.tokens", "missing"});
  GgufWriter empty = spm_writer();
  empty.set_string_array("tokenizer.ggml.tokens", {});
  expect_error(empty, {"tokenizer.ggml.tokens"});
  GgufWriter dup = bpe_writer();
  std::vector<std::string> tokens(300, "x");
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = std::string("t").append(std::to_string(i));
  tokens[5] = tokens[4];
  dup.set_string_array("tokenizer.ggml.tokens", tokens);
  dup.set_i32_array("tokenizer.ggml.token_type", std::vector<int32_t>(300, 1));
  expect_error(dup, {"tokenizer.ggml.tokens[5]", "duplicate"});
  GgufWriter wrong = spm_writer();
  wrong.set_f32_array("tokenizer.ggml.tokens", {1.0f, 2.0f});
  expect_error(wrong, {"tokenizer.ggml.tokens"});
}

TEST(VocabValidation, InvalidUtf8TokenText) {
  GgufWriter w = spm_writer();
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "ok", "bad\xC3"};
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_f32_array("tokenizer.ggml.scores", std::vector<float>(tokens.size(), 0.0f));
  w.set_i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1});
  expect_error(w, {"tokenizer.ggml.tokens", "UTF-8"});
}

TEST(VocabValidation, ScoresAndTypes) {
  GgufWriter short_scores = spm_writer();
  short_scores.set_f32_array("tokenizer.ggml.scores", {0.0f, 1.0f});
  expect_error(short_scores, {"tokenizer.ggml.scores"});
  GgufWriter nan = spm_writer();
  std::vector<float> scores(269, 0.0f);
  scores[261] = std::numeric_limits<float>::quiet_NaN();
  nan.set_f32_array("tokenizer.ggml.scores", scores);
  expect_error(nan, {"tokenizer.ggml.scores[261]", "NaN"});
  GgufWriter short_types = spm_writer();
  short_types.set_i32_array("tokenizer.ggml.token_type", {1, 1});
  expect_error(short_types, {"tokenizer.ggml.token_type"});
  GgufWriter bad_type = spm_writer();
  std::vector<int32_t> types(269, 1);
  types[7] = 42;
  bad_type.set_i32_array("tokenizer.ggml.token_type", types);
  expect_error(bad_type, {"tokenizer.ggml.token_type[7]", "42"});
}

TEST(VocabValidation, SpecialTokenIds) {
  GgufWriter out_of_range = spm_writer();
  out_of_range.set_u32("tokenizer.ggml.bos_token_id", 100000);
  expect_error(out_of_range, {"tokenizer.ggml.bos_token_id", "100000"});
  GgufWriter negative = spm_writer();
  negative.set_i32("tokenizer.ggml.eos_token_id", -7);
  expect_error(negative, {"tokenizer.ggml.eos_token_id"});
  GgufWriter not_int = spm_writer();
  not_int.set_string("tokenizer.ggml.unknown_token_id", "0");
  expect_error(not_int, {"tokenizer.ggml.unknown_token_id"});
  // "none" (-1 / 0xFFFFFFFF) is accepted, but then BOS cannot be added.
  GgufWriter no_bos = spm_writer();
  no_bos.set_u32("tokenizer.ggml.bos_token_id", 0xFFFFFFFFu);
  expect_error(no_bos, {"tokenizer.ggml.add_bos_token", "tokenizer.ggml.bos_token_id"});
  no_bos.set_bool("tokenizer.ggml.add_bos_token", false);
  EXPECT_EQ(load_error(no_bos), "");
  GgufWriter flag_type = spm_writer();
  flag_type.set_u32("tokenizer.ggml.add_bos_token", 1);
  expect_error(flag_type, {"tokenizer.ggml.add_bos_token"});
}

TEST(VocabValidation, Merges) {
  GgufWriter missing = bpe_writer();
  GgufWriter fresh;
  for (const GgufKv& kv : [&] {
         std::vector<uint8_t> b = missing.to_bytes();
         auto f = GgufFile::from_bytes(b, "x");
         return f->metadata();
       }()) {
    if (kv.key != "tokenizer.ggml.merges") fresh.set(kv.key, kv.value);
  }
  expect_error(fresh, {"tokenizer.ggml.merges", "missing"});
  GgufWriter unknown = bpe_writer();
  unknown.set_string_array("tokenizer.ggml.merges", {"h e", "he zz"});
  expect_error(unknown, {"tokenizer.ggml.merges[1]", "zz"});
  GgufWriter no_space = bpe_writer();
  no_space.set_string_array("tokenizer.ggml.merges", {"hello"});
  expect_error(no_space, {"tokenizer.ggml.merges[0]"});
  GgufWriter wrong = bpe_writer();
  wrong.set_i32_array("tokenizer.ggml.merges", {1, 2});
  expect_error(wrong, {"tokenizer.ggml.merges"});
}

TEST(VocabValidation, PreTokenizer) {
  GgufWriter unknown = bpe_writer();
  unknown.set_string("tokenizer.ggml.pre", "klingon");
  expect_error(unknown, {"tokenizer.ggml.pre", "klingon"});
  GgufWriter wrong = bpe_writer();
  wrong.set_u32("tokenizer.ggml.pre", 3);
  expect_error(wrong, {"tokenizer.ggml.pre"});
}

TEST(VocabValidation, SmallVocabulariesTokenize) {
  std::vector<uint8_t> bpe_bytes, spm_bytes;
  Tokenizer bpe = load_ok(bpe_writer(), bpe_bytes);
  EXPECT_EQ(bpe.encode("hello", false, false), (std::vector<int32_t>{259}));
  EXPECT_EQ(bpe.encode("hello<|endoftext|>", false, true), (std::vector<int32_t>{259, 260}));
  EXPECT_EQ(bpe.decode(bpe.encode("hello \xFF world", false, false)), "hello \xEF\xBF\xBD world");
  Tokenizer spm = load_ok(spm_writer(), spm_bytes);
  // " hello" -> "▁hello" (one token, highest score); "x" falls back to its byte token <0x78> = 3 + 0x78.
  EXPECT_EQ(spm.encode("hello", true, false), (std::vector<int32_t>{1, 268}));
  EXPECT_EQ(spm.encode("hellox", false, false), (std::vector<int32_t>{268, 3 + 'x'}));
  EXPECT_EQ(spm.decode(spm.encode("hellox", false, false)), "hellox");
}

}  // namespace
}  // namespace pocket
