// Encoding (special-token partition, SentencePiece and byte-level BPE) and decoding, following llama.cpp's
// llama-vocab.cpp step by step so that ids match it exactly.
#include "tokenizer/tokenizer.h"

#include <cstring>
#include <queue>

#include "base/utf8.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/vocab.h"

namespace pocket {

struct Tokenizer::Fragment {
  int32_t token;  // >= 0: a special token matched whole; -1: raw text [offset, offset + length)
  size_t offset;
  size_t length;
};

Result<Tokenizer> Tokenizer::from_gguf(const GgufFile& file) {
  Tokenizer tokenizer;
  auto vocab = Vocab::from_gguf(file);
  if (!vocab.ok()) return vocab.status().with_context(file.name() + ": ");
  tokenizer.vocab_ = std::move(vocab).value();
  if (tokenizer.vocab_->type() == VocabType::kBpe) {
    auto spec = find_pre_tokenizer(file.get_string("tokenizer.ggml.pre").value_or(""));
    if (!spec.ok()) return spec.status().with_context(file.name() + ": ");
    auto pre = PreTokenizer::create(spec->regexes);
    if (!pre.ok()) return pre.status();
    tokenizer.pre_ = std::move(pre).value();
  }
  return tokenizer;
}

int32_t Tokenizer::n_vocab() const { return vocab_->n_tokens(); }
int32_t Tokenizer::bos_id() const { return vocab_->bos_id(); }
int32_t Tokenizer::eos_id() const { return vocab_->eos_id(); }
bool Tokenizer::is_end_of_generation(int32_t id) const { return vocab_->is_eog(id); }
bool Tokenizer::add_bos() const { return vocab_->add_bos(); }
bool Tokenizer::cleans_spaces() const { return vocab_->clean_spaces(); }

// llama.cpp's tokenizer_st_partition: each special token (longest first) is cut out of every raw fragment.
// Control and unknown tokens only when parse_special; user-defined tokens always (as Hugging Face does).
std::vector<Tokenizer::Fragment> Tokenizer::partition(std::string_view text, bool parse_special) const {
  std::vector<Fragment> fragments;
  if (text.empty()) return fragments;
  fragments.push_back({-1, 0, text.size()});
  std::vector<Fragment> next;
  for (int32_t id : vocab_->special_tokens()) {
    const TokenData& token = vocab_->token(id);
    if (!parse_special && (token.attr & (kAttrControl | kAttrUnknown))) continue;
    const std::string& needle = token.text;
    // Quick reject: the token's text occurs nowhere in the input.
    if (text.find(needle) == std::string_view::npos) continue;
    next.clear();
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      size_t offset = f.offset, length = f.length;
      while (length > 0) {
        size_t match = text.substr(offset, length).find(needle);
        if (match == std::string_view::npos) {
          next.push_back({-1, offset, length});
          break;
        }
        size_t left = match;
        if (token.attr & kAttrLstrip) {
          while (left > 0 && std::isspace(static_cast<unsigned char>(text[offset + left - 1]))) --left;
        }
        if (left > 0) next.push_back({-1, offset, left});
        next.push_back({id, 0, 0});
        size_t right_offset = offset + match + needle.size();
        size_t right_length = length - match - needle.size();
        if (token.attr & kAttrRstrip) {
          while (right_length > 0 && std::isspace(static_cast<unsigned char>(text[right_offset]))) {
            ++right_offset;
            --right_length;
          }
        }
        offset = right_offset;
        length = right_length;
      }
    }
    fragments.swap(next);
  }
  return fragments;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> out;
  std::vector<Fragment> fragments = partition(text, parse_special);
  if (add_special && vocab_->add_bos() && vocab_->bos_id() >= 0) out.push_back(vocab_->bos_id());
  if (vocab_->type() == VocabType::kSpm) {
    bool prev_special = true;  // the first fragment gets the leading space too
    std::string piece;
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
        prev_special = true;
        continue;
      }
      piece.clear();
      if (vocab_->add_space_prefix() && prev_special) piece += ' ';
      piece.append(text.substr(f.offset, f.length));
      encode_spm(piece, out);
      prev_special = false;
    }
  } else {
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
      } else {
        encode_bpe(text.substr(f.offset, f.length), out);
      }
    }
  }
  if (add_special && vocab_->add_eos() && vocab_->eos_id() >= 0) out.push_back(vocab_->eos_id());
  return out;
}

namespace {

struct Symbol {
  int prev;
  int next;
  size_t offset;  // into the word being tokenized
  size_t n;       // bytes; 0 once merged into the symbol on its left
  int32_t id;     // BPE: token id of the symbol's text (-1 if none)
};

// llama.cpp's unicode_len_utf8: sequence length from the lead byte's high nibble (continuation bytes count 1).
size_t lead_length(unsigned char c) {
  static constexpr uint8_t kLengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLengths[c >> 4];
}

struct SpmBigram {
  int left;
  int right;
  float score;
  size_t size;
};
struct SpmOrder {  // highest score first; ties: leftmost first
  bool operator()(const SpmBigram& l, const SpmBigram& r) const {
    return l.score < r.score || (l.score == r.score && l.left > r.left);
  }
};

struct BpeBigram {
  int left;
  int right;
  int32_t rank;
  int32_t left_id;
  int32_t right_id;
};
struct BpeOrder {  // lowest rank first; ties: leftmost first
  bool operator()(const BpeBigram& l, const BpeBigram& r) const {
    return l.rank > r.rank || (l.rank == r.rank && l.left > r.left);
  }
};

}  // namespace

// SentencePiece-style BPE (llama.cpp's llm_tokenizer_spm): spaces become U+2581, the text is split into UTF-8
// characters, and the adjacent pair whose concatenation is the highest-scoring token is merged until none is
// left. Pieces that are not tokens fall back to byte tokens <0xXX>.
void Tokenizer::encode_spm(std::string_view raw, std::vector<int32_t>& out) const {
  std::string text;
  text.reserve(raw.size() + raw.size() / 2);
  for (char c : raw) {
    if (c == ' ') {
      text += "\xE2\x96\x81";
    } else {
      text += c;
    }
  }
  std::vector<Symbol> symbols;
  for (size_t offset = 0; offset < text.size();) {
    size_t n = std::min(lead_length(static_cast<unsigned char>(text[offset])), text.size() - offset);
    int index = static_cast<int>(symbols.size());
    symbols.push_back({index - 1, offset + n == text.size() ? -1 : index + 1, offset, n, -1});
    offset += n;
  }
  if (symbols.empty()) return;
  std::priority_queue<SpmBigram, std::vector<SpmBigram>, SpmOrder> queue;
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    std::string_view joined(text.data() + symbols[left].offset, symbols[left].n + symbols[right].n);
    int32_t id = vocab_->find(joined);
    if (id < 0) return;
    queue.push({left, right, vocab_->token(id).score, joined.size()});
  };
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add(i - 1, i);
  while (!queue.empty()) {
    SpmBigram bigram = queue.top();
    queue.pop();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    if (left.n == 0 || right.n == 0 || left.n + right.n != bigram.size) continue;  // stale
    left.n += right.n;
    right.n = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    try_add(left.prev, bigram.left);
    try_add(bigram.left, left.next);
  }
  for (int i = 0; i != -1; i = symbols[i].next) {
    std::string_view piece(text.data() + symbols[i].offset, symbols[i].n);
    int32_t id = vocab_->find(piece);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    for (char c : piece) {
      int32_t byte_id = vocab_->byte_token(static_cast<uint8_t>(c));
      // llama.cpp throws when a vocabulary has neither <0xXX> nor the raw byte; pocket emits <unk> instead.
      if (byte_id < 0) byte_id = vocab_->unk_id();
      if (byte_id >= 0) out.push_back(byte_id);
    }
  }
}

namespace {

// What llama.cpp's UTF-8 decoder makes of arbitrary bytes: `subject` is valid UTF-8 for the regexes, `bytes` is
// the text the BPE works on (llama.cpp re-encodes every decoded code point), and `to_bytes[i]` maps each subject
// character boundary i to the matching offset in `bytes`. Invalid bytes become U+FFFD (one per byte, as llama.cpp);
// sequences llama.cpp decodes but PCRE2 cannot hold (surrogates) match as U+E000, an "other" character.
struct LenientText {
  std::string subject;
  std::string bytes;
  std::vector<uint32_t> to_bytes;
};

LenientText lenient_decode(std::string_view text) {
  LenientText r;
  r.to_bytes.reserve(text.size() + 1);
  auto emit = [&](std::string_view subject_char, std::string_view byte_chars) {
    for (size_t k = 0; k < subject_char.size(); ++k) r.to_bytes.push_back(static_cast<uint32_t>(r.bytes.size()));
    r.subject.append(subject_char);
    r.bytes.append(byte_chars);
  };
  const std::string_view kReplacement = "\xEF\xBF\xBD";
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : c < 0xC0 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF8 ? 4 : 0;
    bool ok = n != 0 && i + n <= text.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (!ok) {
      emit(kReplacement, kReplacement);
      ++i;
      continue;
    }
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    std::string canonical;  // llama.cpp's unicode_cpt_to_utf8(cp)
    if (cp < 0x80) {
      canonical += static_cast<char>(cp);
    } else if (cp < 0x800) {
      canonical += static_cast<char>(0xC0 | (cp >> 6));
      canonical += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      canonical += static_cast<char>(0xE0 | (cp >> 12));
      canonical += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      canonical += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp <= 0x10FFFF) {
      canonical += static_cast<char>(0xF0 | (cp >> 18));
      canonical += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      canonical += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      canonical += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      canonical = kReplacement;  // beyond Unicode: llama.cpp throws here
    }
    bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    emit(surrogate ? std::string_view("\xEE\x80\x80") : std::string_view(canonical), canonical);
    i += n;
  }
  r.to_bytes.push_back(static_cast<uint32_t>(r.bytes.size()));
  return r;
}

}  // namespace

// Byte-level BPE (llama.cpp's llm_tokenizer_bpe_session): regex pre-tokens, then rank-ordered merges over the
// bytes of each pre-token (each byte stands for its GPT-2 code point).
void Tokenizer::encode_bpe(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<std::pair<size_t, size_t>> words;
  if (is_valid_utf8(text)) {
    pre_->split(text, words);
    for (const auto& [offset, length] : words) bpe_word(text.substr(offset, length), out);
    return;
  }
  LenientText lenient = lenient_decode(text);
  pre_->split(lenient.subject, words);
  for (const auto& [offset, length] : words) {
    size_t begin = lenient.to_bytes[offset];
    size_t end = offset + length < lenient.subject.size() ? lenient.to_bytes[offset + length] : lenient.bytes.size();
    bpe_word(std::string_view(lenient.bytes).substr(begin, end - begin), out);
  }
}

void Tokenizer::bpe_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  auto encoded_text = [](std::string_view bytes) {  // the word as GPT-2 code points (token text form)
    std::string s;
    for (char c : bytes) {
      uint32_t cp = byte_to_gpt2_codepoint(static_cast<uint8_t>(c));
      if (cp < 0x80) {
        s += static_cast<char>(cp);
      } else {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
      }
    }
    return s;
  };
  if (vocab_->ignore_merges()) {
    int32_t id = vocab_->find(encoded_text(word));
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  std::vector<Symbol> symbols(word.size());
  for (size_t i = 0; i < word.size(); ++i) {
    int index = static_cast<int>(i);
    symbols[i] = {index - 1, i + 1 == word.size() ? -1 : index + 1, i, 1,
                  vocab_->byte_token(static_cast<uint8_t>(word[i]))};
  }
  std::priority_queue<BpeBigram, std::vector<BpeBigram>, BpeOrder> queue;
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    int32_t l = symbols[left].id, r = symbols[right].id;
    if (l < 0 || r < 0) return;
    const Vocab::Merge* merge = vocab_->find_merge(l, r);
    if (merge == nullptr) return;
    queue.push({left, right, merge->rank, l, r});
  };
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add(i - 1, i);
  while (!queue.empty()) {
    BpeBigram bigram = queue.top();
    queue.pop();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    if (left.n == 0 || right.n == 0 || left.id != bigram.left_id || right.id != bigram.right_id) continue;
    left.id = vocab_->find_merge(bigram.left_id, bigram.right_id)->result;
    left.n += right.n;
    right.n = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    try_add(left.prev, bigram.left);
    try_add(bigram.left, left.next);
  }
  for (int i = 0; i != -1; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    if (s.id >= 0) {
      out.push_back(s.id);
      continue;
    }
    // Not a token: llama.cpp looks up each byte of the symbol's (code point) text as a one-byte token.
    for (char c : encoded_text(word.substr(s.offset, s.n))) {
      int32_t id = vocab_->find(std::string_view(&c, 1));
      if (id >= 0) out.push_back(id);
    }
  }
}

const std::string& Tokenizer::render(int32_t id, bool render_special) const {
  static const std::string kEmpty;
  if (!vocab_->valid_id(id)) return kEmpty;  // llama.cpp would throw; decoding skips unknown ids
  if (!render_special && (vocab_->token(id).attr & (kAttrControl | kAttrUnknown))) return kEmpty;
  return vocab_->piece(id);
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const { return render(id, render_special); }

void Tokenizer::clean_spaces(std::string& text) {
  // llama.cpp's detokenize clean-up, three in-place passes over bytes.
  size_t n = text.size();
  if (n == 0) return;
  // 1: " ?" " !" " ." " ," lose the space.
  size_t total = 1;
  for (size_t i = 1; i < n; ++i) {
    char x = text[i];
    if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) --total;
    text[total++] = x;
  }
  // 2: " ' " -> "'".
  n = total;
  total = 1;
  for (size_t i = 1; i < n; ++i) {
    char x = text[i];
    if (x == '\'' && i + 1 < n && text[i - 1] == ' ' && text[i + 1] == ' ') {
      --total;
      text[++i] = '\0';
    }
    text[total++] = x;
  }
  // 3: " 's" " 'm" " 're" " 've" lose the space.
  n = total;
  total = 1;
  for (size_t i = 1; i < n; ++i) {
    char x = text[i];
    if (text[i - 1] == ' ' && x == '\'' && i + 1 < n) {
      char x1 = text[i + 1];
      if (x1 == 's' || x1 == 'm') {
        --total;
      } else if (i + 2 < n) {
        char x2 = text[i + 2];
        if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) --total;
      }
    }
    text[total++] = x;
  }
  text.resize(total);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string text;
  bool remove_space = vocab_->add_space_prefix();
  for (int32_t id : ids) {
    const std::string& piece = render(id, render_special);
    size_t skip = remove_space && !piece.empty() && piece[0] == ' ' ? 1 : 0;
    text.append(piece, skip, std::string::npos);
    remove_space = false;
  }
  if (vocab_->clean_spaces()) clean_spaces(text);
  return text;
}

namespace {

// End of the longest prefix of text[0, end) that does not stop inside a UTF-8 sequence that may still complete.
size_t utf8_safe_end(std::string_view text, size_t begin, size_t end) {
  for (size_t back = 1; back <= 4 && end >= begin + back; ++back) {
    auto c = static_cast<unsigned char>(text[end - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t n = utf8_sequence_length(c);
    return n > back ? end - back : end;  // an incomplete sequence waits; invalid leads (n == 0) go out
  }
  return end;
}

}  // namespace

std::string StreamingDetokenizer::push(int32_t id) {
  const std::string& piece = tokenizer_->token_to_piece(id, render_special_);
  size_t skip = first_ && tokenizer_->vocab().add_space_prefix() && !piece.empty() && piece[0] == ' ' ? 1 : 0;
  pending_.append(piece, skip, std::string::npos);
  first_ = false;
  return take(false);
}

std::string StreamingDetokenizer::flush() {
  std::string out = take(true);
  pending_.clear();
  emitted_ = 0;
  first_ = true;
  return out;
}

std::string StreamingDetokenizer::take(bool final) {
  if (!tokenizer_->cleans_spaces()) {
    size_t end = final ? pending_.size() : utf8_safe_end(pending_, 0, pending_.size());
    std::string out = pending_.substr(0, end);
    pending_.erase(0, end);
    return out;
  }
  // The clean-up looks at most 3 bytes ahead in each of its 3 passes: bytes more than 8 from the end are final.
  std::string cleaned = pending_;
  Tokenizer::clean_spaces(cleaned);
  size_t end = cleaned.size();
  if (!final) {
    end = end > 8 ? end - 8 : 0;
    end = utf8_safe_end(cleaned, emitted_, end);
  }
  if (end <= emitted_) return std::string();
  std::string out = cleaned.substr(emitted_, end - emitted_);
  emitted_ = end;
  return out;
}

}  // namespace pocket
