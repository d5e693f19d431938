// Vocabulary read from a GGUF file's tokenizer.ggml.* metadata, validated as hostile input, with the derived
// tables the tokenizers need (text -> id, merge ranks, byte tokens, special-token list, rendered pieces).
// Mirrors llama.cpp's llama_vocab::impl::load: same defaults, same flags per pre-tokenizer, same auto-detection of
// end-of-generation tokens by text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "format/gguf.h"

namespace pocket {

enum class VocabType {
  kSpm,  // tokenizer.ggml.model = "llama": SentencePiece-style score-driven BPE with byte fallback
  kBpe,  // tokenizer.ggml.model = "gpt2": byte-level BPE with a regex pre-tokenizer
};

// Token attributes (llama.cpp's llama_token_attr bits).
enum TokenAttr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrLstrip = 1u << 7,
  kAttrRstrip = 1u << 8,
};

struct TokenData {
  std::string text;
  float score = 0;
  uint32_t attr = kAttrNormal;
};

// GPT-2's reversible byte <-> code point map used by byte-level BPE vocabularies.
uint32_t byte_to_gpt2_codepoint(uint8_t byte);
int gpt2_codepoint_to_byte(uint32_t codepoint);  // -1 if the code point is not in the map

class Vocab {
 public:
  // Reads and validates tokenizer.ggml.*; errors name the key and, for arrays, the index.
  static Result<std::shared_ptr<const Vocab>> from_gguf(const GgufFile& file);

  VocabType type() const { return type_; }
  const std::string& model() const { return model_; }  // tokenizer.ggml.model
  const std::string& pre() const { return pre_; }      // tokenizer.ggml.pre ("default" when absent)

  int32_t n_tokens() const { return static_cast<int32_t>(tokens_.size()); }
  bool valid_id(int32_t id) const { return id >= 0 && id < n_tokens(); }
  const TokenData& token(int32_t id) const { return tokens_[static_cast<size_t>(id)]; }
  int32_t find(std::string_view text) const;  // -1 if no token has exactly this text

  int32_t bos_id() const { return bos_id_; }  // -1 if none
  int32_t eos_id() const { return eos_id_; }
  int32_t eot_id() const { return eot_id_; }
  int32_t eom_id() const { return eom_id_; }
  int32_t unk_id() const { return unk_id_; }
  int32_t pad_id() const { return pad_id_; }
  bool is_eog(int32_t id) const;

  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }
  bool add_space_prefix() const { return add_space_prefix_; }
  bool clean_spaces() const { return clean_spaces_; }    // llama.cpp's clean_up_tokenization_spaces
  bool ignore_merges() const { return ignore_merges_; }  // BPE: a whole pre-token that is a token is kept

  // Control, user-defined and unknown tokens, longest text first (the order special tokens are matched in).
  const std::vector<int32_t>& special_tokens() const { return special_tokens_; }

  // BPE: the merge of (left, right) token ids, or nullptr. `result` is the merged text's id (-1 if absent).
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  const Merge* find_merge(int32_t left, int32_t right) const;
  // BPE: the token of one raw byte (its GPT-2 code point). SPM: "<0xXX>", else the one-byte text. -1 if none.
  int32_t byte_token(uint8_t byte) const { return byte_tokens_[byte]; }

  // The token's text as llama.cpp's token_to_piece renders it with special = true (cached at load).
  const std::string& piece(int32_t id) const { return pieces_[static_cast<size_t>(id)]; }

 private:
  Status load_tokens(const GgufFile& file);
  Status load_merges(const GgufFile& file);
  Status load_special_ids(const GgufFile& file);
  void detect_special_tokens(const GgufFile& file);
  void build_tables();
  std::string render_piece(int32_t id) const;

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  VocabType type_ = VocabType::kSpm;
  std::string model_;
  std::string pre_;
  std::vector<TokenData> tokens_;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> token_to_id_;
  std::unordered_map<uint64_t, Merge> merges_;  // key: left << 32 | right
  int32_t byte_tokens_[256];
  std::vector<int32_t> special_tokens_;
  std::vector<int32_t> eog_ids_;
  std::vector<std::string> pieces_;

  int32_t bos_id_ = -1, eos_id_ = -1, eot_id_ = -1, eom_id_ = -1, unk_id_ = -1, pad_id_ = -1, sep_id_ = -1;
  bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false, clean_spaces_ = false;
  bool ignore_merges_ = false;
};

}  // namespace pocket
