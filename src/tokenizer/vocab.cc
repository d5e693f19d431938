#include "tokenizer/vocab.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "base/utf8.h"
#include "tokenizer/pre_tokenizer.h"

namespace pocket {
namespace {

constexpr const char* kTokensKey = "tokenizer.ggml.tokens";
constexpr const char* kScoresKey = "tokenizer.ggml.scores";
constexpr const char* kTypesKey = "tokenizer.ggml.token_type";
constexpr const char* kMergesKey = "tokenizer.ggml.merges";

// GGUF token types (llama.cpp's llama_token_type) -> attributes.
uint32_t attr_from_type(int64_t type) {
  switch (type) {
    case 1: return kAttrNormal;
    case 2: return kAttrUnknown;
    case 3: return kAttrControl;
    case 4: return kAttrUserDefined;
    case 5: return kAttrUnused;
    case 6: return kAttrByte;
    default: return kAttrUndefined;  // 0: undefined
  }
}

// Decodes one code point of valid UTF-8 at text[i], advancing i.
uint32_t next_codepoint(std::string_view text, size_t& i) {
  auto c = static_cast<unsigned char>(text[i]);
  size_t n = utf8_sequence_length(c);
  if (n == 0 || i + n > text.size()) {
    ++i;
    return 0xFFFD;
  }
  uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
  i += n;
  return cp;
}

// llama.cpp's llama_decode_text: byte-level token text (GPT-2 code points) -> raw bytes.
std::string decode_byte_level(const std::string& text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    uint32_t cp = next_codepoint(text, i);
    int byte = gpt2_codepoint_to_byte(cp);
    if (byte >= 0) {
      out += static_cast<char>(byte);
    } else {
      out += "[UNK_BYTE_0x";
      for (size_t k = start; k < i; ++k) out += fmt::format("{:02x}", static_cast<unsigned char>(text[k]));
      out += text + "]";
    }
  }
  return out;
}

// "<0xAB>" -> 0xAB; -1 if the text is not of that form.
int parse_byte_token(const std::string& text) {
  if (text.size() != 6 || text.compare(0, 3, "<0x") != 0 || text[5] != '>') return -1;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  int hi = hex(text[3]), lo = hex(text[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

bool is_one_of(const std::string& s, std::initializer_list<const char*> list) {
  for (const char* item : list) {
    if (s == item) return true;
  }
  return false;
}

}  // namespace

uint32_t byte_to_gpt2_codepoint(uint8_t byte) {
  // Printable Latin-1 bytes map to themselves; the other 68 bytes to U+0100.. in byte order.
  if ((byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE) return byte;
  uint32_t n = 0;
  for (uint32_t b = 0; b < byte; ++b) {
    if (!((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)) ++n;
  }
  return 0x100 + n;
}

int gpt2_codepoint_to_byte(uint32_t codepoint) {
  static const auto table = [] {
    std::array<int16_t, 0x144> t{};
    t.fill(-1);
    for (int b = 0; b < 256; ++b) t[byte_to_gpt2_codepoint(static_cast<uint8_t>(b))] = static_cast<int16_t>(b);
    return t;
  }();
  return codepoint < table.size() ? table[codepoint] : -1;
}

int32_t Vocab::find(std::string_view text) const {
  auto it = token_to_id_.find(text);
  return it == token_to_id_.end() ? -1 : it->second;
}

const Vocab::Merge* Vocab::find_merge(int32_t left, int32_t right) const {
  auto it = merges_.find((static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right));
  return it == merges_.end() ? nullptr : &it->second;
}

bool Vocab::is_eog(int32_t id) const {
  return id >= 0 && std::find(eog_ids_.begin(), eog_ids_.end(), id) != eog_ids_.end();
}

Status Vocab::load_tokens(const GgufFile& file) {
  const GgufValue* tokens = file.find(kTokensKey);
  if (tokens == nullptr) return bad_input("{}: missing (a vocabulary needs its token list)", kTokensKey);
  if (tokens->type != GgufType::kArray || tokens->elem_type != GgufType::kString) {
    return bad_input("{}: expected an array of strings, got {}", kTokensKey, gguf_type_name(tokens->type));
  }
  const size_t n = tokens->strs.size();
  if (n == 0) return bad_input("{}: the token list is empty", kTokensKey);
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return bad_input("{}: {} tokens is more than a 32-bit id can address", kTokensKey, n);
  }
  const GgufValue* scores = file.find(kScoresKey);
  if (scores != nullptr) {
    if (scores->type != GgufType::kArray ||
        (scores->elem_type != GgufType::kFloat32 && scores->elem_type != GgufType::kInt32)) {
      return bad_input("{}: expected an array of f32, got {}", kScoresKey, gguf_type_name(scores->type));
    }
    size_t n_scores = scores->elem_type == GgufType::kFloat32 ? scores->floats.size() : scores->ints.size();
    if (n_scores != n) return bad_input("{}: {} scores for {} tokens", kScoresKey, n_scores, n);
  }
  const GgufValue* types = file.find(kTypesKey);
  if (types != nullptr) {
    if (types->type != GgufType::kArray || types->elem_type != GgufType::kInt32) {
      return bad_input("{}: expected an array of i32, got {}", kTypesKey, gguf_type_name(types->type));
    }
    if (types->ints.size() != n) return bad_input("{}: {} token types for {} tokens", kTypesKey, types->ints.size(), n);
  }
  tokens_.resize(n);
  token_to_id_.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    TokenData& t = tokens_[i];
    t.text = tokens->strs[i];
    if (!is_valid_utf8(t.text)) return bad_input("{}[{}]: token text is not valid UTF-8", kTokensKey, i);
    if (t.text.empty()) t.text = fmt::format("[EMPTY_{}]", i);  // as llama.cpp: keeps the id addressable
    if (scores != nullptr) {
      double s = scores->elem_type == GgufType::kFloat32 ? scores->floats[i] : static_cast<double>(scores->ints[i]);
      if (std::isnan(s)) return bad_input("{}[{}]: score is NaN", kScoresKey, i);
      t.score = static_cast<float>(s);
    }
    if (types != nullptr) {
      int64_t type = types->ints[i];
      if (type < 0 || type > 6) return bad_input("{}[{}]: token type {} is not one of 0..6", kTypesKey, i, type);
      t.attr = attr_from_type(type);
    }
    auto [it, inserted] = token_to_id_.emplace(t.text, static_cast<int32_t>(i));
    if (!inserted) {
      return bad_input("{}[{}]: duplicate token '{}' (also id {})", kTokensKey, i, t.text, it->second);
    }
  }
  return ok_status();
}

Status Vocab::load_merges(const GgufFile& file) {
  const GgufValue* merges = file.find(kMergesKey);
  if (merges == nullptr) return bad_input("{}: missing (required by tokenizer.ggml.model 'gpt2')", kMergesKey);
  if (merges->type != GgufType::kArray || merges->elem_type != GgufType::kString) {
    return bad_input("{}: expected an array of strings, got {}", kMergesKey, gguf_type_name(merges->type));
  }
  if (merges->strs.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return bad_input("{}: too many merges ({})", kMergesKey, merges->strs.size());
  }
  merges_.reserve(merges->strs.size() * 2);
  for (size_t i = 0; i < merges->strs.size(); ++i) {
    const std::string& merge = merges->strs[i];
    size_t space = merge.size() > 1 ? merge.find(' ', 1) : std::string::npos;
    if (space == std::string::npos) {
      return bad_input("{}[{}]: '{}' is not two tokens separated by a space", kMergesKey, i, merge);
    }
    std::string_view left(merge.data(), space), right(merge.data() + space + 1, merge.size() - space - 1);
    int32_t left_id = find(left), right_id = find(right);
    if (left_id < 0 || right_id < 0) {
      return bad_input("{}[{}]: '{}' names a token that is not in {} ('{}')", kMergesKey, i, merge, kTokensKey,
                       left_id < 0 ? left : right);
    }
    std::string joined = std::string(left) + std::string(right);
    uint64_t key = (static_cast<uint64_t>(left_id) << 32) | static_cast<uint32_t>(right_id);
    merges_.emplace(key, Merge{static_cast<int32_t>(i), find(joined)});  // the first rank of a pair wins
  }
  return ok_status();
}

Status Vocab::load_special_ids(const GgufFile& file) {
  struct Key {
    const char* key;
    int32_t* id;
  };
  const Key keys[] = {
      {"tokenizer.ggml.bos_token_id", &bos_id_},      {"tokenizer.ggml.eos_token_id", &eos_id_},
      {"tokenizer.ggml.eot_token_id", &eot_id_},      {"tokenizer.ggml.eom_token_id", &eom_id_},
      {"tokenizer.ggml.unknown_token_id", &unk_id_},  {"tokenizer.ggml.seperator_token_id", &sep_id_},
      {"tokenizer.ggml.padding_token_id", &pad_id_},
  };
  for (const Key& k : keys) {
    if (*k.id >= n_tokens()) *k.id = -1;  // a default id outside a small vocabulary: none
    const GgufValue* value = file.find(k.key);
    if (value == nullptr) continue;
    if (!value->is_integer()) {
      return bad_input("{}: expected an integer token id, got {}", k.key, gguf_type_name(value->type));
    }
    std::optional<int64_t> id = value->as_int();
    // -1 (also written as u32 0xFFFFFFFF) is the conventional "no such token".
    if (id && (*id == -1 || *id == 0xFFFFFFFFll)) {
      *k.id = -1;
      continue;
    }
    if (!id || *id < 0 || *id >= n_tokens()) {
      return bad_input("{}: token id {} is out of range (vocabulary has {} tokens)", k.key,
                       id ? fmt::format("{}", *id) : std::string("> 2^63"), n_tokens());
    }
    *k.id = static_cast<int32_t>(*id);
  }
  for (const char* key : {"tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token"}) {
    const GgufValue* value = file.find(key);
    if (value == nullptr) continue;
    if (value->type != GgufType::kBool) return bad_input("{}: expected a bool, got {}", key, gguf_type_name(value->type));
    (std::string_view(key).find("bos") != std::string_view::npos ? add_bos_ : add_eos_) = value->b;
  }
  if (add_bos_ && bos_id_ < 0) {
    return bad_input("tokenizer.ggml.add_bos_token is true, but tokenizer.ggml.bos_token_id is not set");
  }
  if (add_eos_ && eos_id_ < 0) {
    return bad_input("tokenizer.ggml.add_eos_token is true, but tokenizer.ggml.eos_token_id is not set");
  }
  return ok_status();
}

// llama.cpp finds EOT/EOM and end-of-generation tokens by their text and marks them as control tokens.
void Vocab::detect_special_tokens(const GgufFile& file) {
  for (int32_t id = 0; id < n_tokens(); ++id) {
    const std::string& text = tokens_[id].text;
    uint32_t& attr = tokens_[id].attr;
    if (eot_id_ < 0 && is_one_of(text, {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                         "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
                                         "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
                                         "<end_of_utterance>"})) {
      eot_id_ = id;
      attr |= kAttrControl;
    }
    if (eom_id_ < 0 && text == "<|eom_id|>") {
      eom_id_ = id;
      attr |= kAttrControl;
    }
  }
  for (int32_t id = 0; id < n_tokens(); ++id) {
    const std::string& text = tokens_[id].text;
    if (is_one_of(text, {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
                         "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
                         "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
                         "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>", "[e~["})) {
      eog_ids_.push_back(id);
      tokens_[id].attr |= kAttrControl;
    }
    if (is_one_of(text, {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"})) {
      tokens_[id].attr = kAttrUserDefined;  // gpt-oss: always rendered
    }
  }
  for (int32_t id : {eos_id_, eot_id_, eom_id_}) {
    if (id >= 0 && !is_eog(id)) eog_ids_.push_back(id);
  }
  // o200k_harmony / solar-open: "<|end|>" ends a message, not the generation.
  auto has = [&](const char* text) {
    int32_t id = find(text);
    return id >= 0 && is_eog(id);
  };
  if ((has("<|return|>") && has("<|call|>") && has("<|end|>")) ||
      (has("<|calls|>") && has("<|flush|>") && has("<|end|>"))) {
    int32_t end = find("<|end|>");
    eog_ids_.erase(std::remove(eog_ids_.begin(), eog_ids_.end(), end), eog_ids_.end());
    tokens_[end].attr = kAttrUserDefined;
  }
  if (has("<|tool_response>") && has("</s>")) {
    int32_t s = find("</s>");
    eog_ids_.erase(std::remove(eog_ids_.begin(), eog_ids_.end(), s), eog_ids_.end());
    tokens_[s].attr = kAttrNormal;
  }
  (void)file;
}

std::string Vocab::render_piece(int32_t id) const {
  const TokenData& t = tokens_[id];
  if (t.attr & (kAttrUnknown | kAttrControl | kAttrUserDefined)) return t.text;
  if (t.attr & kAttrNormal) {
    if (type_ == VocabType::kBpe) return decode_byte_level(t.text);
    std::string out;
    for (size_t i = 0; i < t.text.size(); ++i) {
      if (t.text.compare(i, 3, "\xE2\x96\x81") == 0) {  // U+2581 '▁' -> ' '
        out += ' ';
        i += 2;
      } else {
        out += t.text[i];
      }
    }
    return out;
  }
  if (t.attr & kAttrByte) {
    int byte = parse_byte_token(t.text);
    return byte < 0 ? std::string() : std::string(1, static_cast<char>(byte));
  }
  return std::string();  // undefined / unused tokens render as nothing
}

void Vocab::build_tables() {
  for (int b = 0; b < 256; ++b) {
    int32_t id = -1;
    if (type_ == VocabType::kBpe) {
      std::string s;
      append_utf8(s, byte_to_gpt2_codepoint(static_cast<uint8_t>(b)));
      id = find(s);
    } else {
      id = find(fmt::format("<0x{:02X}>", b));
      if (id < 0) id = find(std::string(1, static_cast<char>(b)));
    }
    byte_tokens_[b] = id;
  }
  for (int32_t id = 0; id < n_tokens(); ++id) {
    if (tokens_[id].attr & (kAttrControl | kAttrUserDefined | kAttrUnknown)) special_tokens_.push_back(id);
  }
  std::stable_sort(special_tokens_.begin(), special_tokens_.end(),
                   [&](int32_t a, int32_t b) { return tokens_[a].text.size() > tokens_[b].text.size(); });
  pieces_.resize(tokens_.size());
  for (int32_t id = 0; id < n_tokens(); ++id) pieces_[id] = render_piece(id);
}

Result<std::shared_ptr<const Vocab>> Vocab::from_gguf(const GgufFile& file) {
  auto vocab = std::make_shared<Vocab>();
  const GgufValue* model = file.find("tokenizer.ggml.model");
  if (model == nullptr) return bad_input("tokenizer.ggml.model: missing (the file has no tokenizer)");
  if (model->type != GgufType::kString) {
    return bad_input("tokenizer.ggml.model: expected a string, got {}", gguf_type_name(model->type));
  }
  vocab->model_ = model->s;
  std::string pre;
  if (const GgufValue* p = file.find("tokenizer.ggml.pre")) {
    if (p->type != GgufType::kString) {
      return bad_input("tokenizer.ggml.pre: expected a string, got {}", gguf_type_name(p->type));
    }
    pre = p->s;
  }
  if (vocab->model_ == "llama") {
    vocab->type_ = VocabType::kSpm;
    vocab->bos_id_ = 1, vocab->eos_id_ = 2, vocab->unk_id_ = 0;
    vocab->add_space_prefix_ = true, vocab->clean_spaces_ = false, vocab->add_bos_ = true;
    vocab->pre_ = pre.empty() ? "default" : pre;
  } else if (vocab->model_ == "gpt2") {
    vocab->type_ = VocabType::kBpe;
    POCKET_ASSIGN_OR_RETURN(PreTokenizerSpec spec, find_pre_tokenizer(pre));
    vocab->bos_id_ = spec.no_bos ? -1 : 11, vocab->eos_id_ = 11;
    vocab->clean_spaces_ = spec.clean_spaces, vocab->ignore_merges_ = spec.ignore_merges;
    vocab->add_bos_ = spec.add_bos;
    vocab->pre_ = pre.empty() ? "default" : pre;
  } else {
    return bad_input("tokenizer.ggml.model: unsupported tokenizer '{}' (pocket supports 'llama' (SentencePiece) "
                     "and 'gpt2' (byte-level BPE))",
                     vocab->model_);
  }
  if (const GgufValue* v = file.find("tokenizer.ggml.add_space_prefix")) {
    if (v->type != GgufType::kBool) {
      return bad_input("tokenizer.ggml.add_space_prefix: expected a bool, got {}", gguf_type_name(v->type));
    }
    vocab->add_space_prefix_ = v->b;
  }
  POCKET_RETURN_IF_ERROR(vocab->load_tokens(file));
  if (vocab->type_ == VocabType::kBpe) POCKET_RETURN_IF_ERROR(vocab->load_merges(file));
  POCKET_RETURN_IF_ERROR(vocab->load_special_ids(file));
  vocab->detect_special_tokens(file);
  vocab->build_tables();
  // Phi-3 (by general.name, as llama.cpp): special tokens swallow the whitespace that follows them.
  std::string name = file.get_string("general.name").value_or("");
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (int32_t id : vocab->special_tokens_) vocab->tokens_[id].attr |= kAttrRstrip;
    if (int32_t id = vocab->find("</s>"); id >= 0) vocab->tokens_[id].attr |= kAttrRstrip;
    for (const char* text : {"<unk>", "<s>", "<|endoftext|>"}) {
      if (int32_t id = vocab->find(text); id >= 0) vocab->tokens_[id].attr &= ~kAttrRstrip;
    }
  }
  return std::shared_ptr<const Vocab>(std::move(vocab));
}

}  // namespace pocket
