// Tokenizer built from a GGUF file's tokenizer.ggml.* metadata: SentencePiece-style BPE ("llama") and byte-level
// BPE ("gpt2") with the pre-tokenizer named by tokenizer.ggml.pre. Behaves exactly as llama.cpp's llama-vocab.
// (Contract shared by the generation code; the implementation may add members but keeps these.)
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "format/gguf.h"

namespace pocket {

class Vocab;  // tokens, scores, types, merges, special ids (vocab.h)

class Tokenizer {
 public:
  // Validates the vocabulary as hostile input; errors name the key (e.g. "tokenizer.ggml.merges").
  static Result<Tokenizer> from_gguf(const GgufFile& file);

  // Text -> ids. add_special: BOS/EOS per the model's flags; parse_special: control/user-defined tokens written
  // in the text are matched whole before BPE.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;
  // One token's text as llama.cpp's token_to_piece renders it (special tokens rendered when `render_special`).
  std::string token_to_piece(int32_t id, bool render_special = false) const;
  // Ids -> text, as llama.cpp's detokenize (removing the SentencePiece leading space, when the model adds one).
  std::string decode(std::span<const int32_t> ids, bool render_special = false) const;

  int32_t n_vocab() const;
  int32_t bos_id() const;   // -1 if none
  int32_t eos_id() const;   // -1 if none
  bool is_end_of_generation(int32_t id) const;  // EOS, EOT, EOM and similar
  bool add_bos() const;
  const Vocab& vocab() const { return *vocab_; }

 private:
  std::shared_ptr<const Vocab> vocab_;
};

// Streams generated ids to text, emitting bytes only at UTF-8 boundaries: the concatenation of push() results
// and flush() equals decode() of the whole sequence, and every piece returned is valid UTF-8.
class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(const Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}
  std::string push(int32_t id);
  std::string flush();

 private:
  const Tokenizer* tokenizer_;
  std::vector<int32_t> ids_;
  std::string pending_;     // bytes of an incomplete UTF-8 sequence
  size_t emitted_ = 0;      // bytes of decode(ids_) already emitted
};

}  // namespace pocket
