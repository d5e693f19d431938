#include "tokenizer_fuzz_target.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "base/shared_data.h"
#include "base/utf8.h"
#include "format/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace pocket {
namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "tokenizer fuzz invariant violated: %s\n", what);
  std::abort();
}

void check(const Tokenizer& tokenizer, std::string_view text, bool parse_special) {
  std::vector<int32_t> ids = tokenizer.encode(text, /*add_special=*/true, parse_special);
  for (int32_t id : ids) {
    if (id < 0 || id >= tokenizer.n_vocab()) fail("id out of range");
  }
  for (bool render_special : {false, true}) {
    std::string whole = tokenizer.decode(ids, render_special);
    StreamingDetokenizer stream(tokenizer, render_special);
    std::string streamed;
    for (int32_t id : ids) streamed += stream.push(id);
    streamed += stream.flush();
    if (streamed != whole) fail("streaming decode differs from decode");
  }
  if (!is_valid_utf8(text)) return;
  const Vocab& vocab = tokenizer.vocab();
  std::vector<int32_t> plain = tokenizer.encode(text, /*add_special=*/false, parse_special);
  if (vocab.type() == VocabType::kBpe) {
    std::string expected(text);
    if (tokenizer.cleans_spaces()) Tokenizer::clean_spaces(expected);
    if (tokenizer.decode(plain, /*render_special=*/true) != expected) fail("byte-level BPE round trip");
  } else if (!parse_special && vocab.add_space_prefix()) {
    for (int32_t id : vocab.special_tokens()) {
      if (text.find(vocab.token(id).text) != std::string_view::npos) return;  // partitioned: extra prefix spaces
    }
    if (vocab.byte_token(0xFF) < 0) return;  // no byte fallback: not lossless
    // U+2581 in the text is SentencePiece's own space marker: it decodes as a space (a documented loss).
    if (text.find("\xE2\x96\x81") != std::string_view::npos) return;
    if (tokenizer.decode(plain) != text) {
      std::fprintf(stderr, "input:");
      for (char c : text) std::fprintf(stderr, " %02x", static_cast<unsigned char>(c));
      std::fprintf(stderr, "\n");
      fail("SentencePiece round trip");
    }
  }
}

}  // namespace

void fuzz_tokenizer_once(const Tokenizer& tokenizer, const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check(tokenizer, text, false);
  check(tokenizer, text, true);
}

const Tokenizer& fuzz_default_tokenizer() {
  static const Tokenizer* tokenizer = [] {
    const char* env = std::getenv("POCKET_FUZZ_VOCAB");
    std::string path = env != nullptr ? env : shared_data_dir() + "/vocab/ggml-vocab-gpt-2.gguf";
    static Result<GgufFile> file = GgufFile::open(path);
    if (!file.ok()) {
      std::fprintf(stderr, "fuzz_tokenizer: %s\n", file.status().message().c_str());
      std::exit(2);
    }
    auto loaded = Tokenizer::from_gguf(*file);
    if (!loaded.ok()) {
      std::fprintf(stderr, "fuzz_tokenizer: %s\n", loaded.status().message().c_str());
      std::exit(2);
    }
    return new Tokenizer(std::move(loaded).value());
  }();
  return *tokenizer;
}

}  // namespace pocket
