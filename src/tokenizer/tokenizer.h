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

class Vocab;         // tokens, scores, types, merges, special ids (vocab.h)
class PreTokenizer;  // byte-level BPE regex splitting (pre_tokenizer.h)

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

  // llama.cpp's detokenize space clean-up (" ," -> ",", " 's" -> "'s", ...) when the vocabulary asks for it;
  // decode() applies it. Exposed for the streaming detokenizer.
  bool cleans_spaces() const;
  static void clean_spaces(std::string& text);

 private:
  struct Fragment;
  std::vector<Fragment> partition(std::string_view text, bool parse_special) const;
  void encode_spm(std::string_view text, std::vector<int32_t>& out) const;
  void encode_bpe(std::string_view text, std::vector<int32_t>& out) const;
  void bpe_word(std::string_view word, std::vector<int32_t>& out) const;
  // Rendered piece of `id` for decoding: "" for ids out of range and, unless render_special, control/unknown.
  const std::string& render(int32_t id, bool render_special) const;

  std::shared_ptr<const Vocab> vocab_;
  std::shared_ptr<const PreTokenizer> pre_;  // byte-level BPE only
};

// Streams generated ids to text, emitting bytes only at UTF-8 boundaries: the concatenation of push() results
// and flush() equals decode() of the whole sequence (render_special as given), and every piece returned is valid
// UTF-8 when the whole text is. (Bytes that can never form valid UTF-8, e.g. a lone <0xFF> byte token, are passed
// through unchanged once they are known to be invalid, so that the concatenation stays exact.)
// With vocabularies whose decode cleans spaces (gpt-2 style), the last few bytes are held back until the next
// tokens show whether the clean-up changes them.
class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(const Tokenizer& tokenizer, bool render_special = false)
      : tokenizer_(&tokenizer), render_special_(render_special) {}
  std::string push(int32_t id);
  std::string flush();

 private:
  std::string take(bool final);

  const Tokenizer* tokenizer_;
  bool render_special_ = false;
  bool first_ = true;       // the next piece is the sequence's first (SentencePiece leading-space removal)
  std::string pending_;     // rendered text not yet returned (all of it, when spaces are cleaned)
  size_t emitted_ = 0;      // bytes of the cleaned text already returned (space-cleaning vocabularies only)
};

}  // namespace pocket
