#include "tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <initializer_list>

namespace pocket {
namespace {

// The regexes below are llama.cpp's (src/llama-vocab.cpp, llm_tokenizer_bpe), written with \x{...} escapes for
// every non-ASCII character so that no editor or normalizer can silently change a code point.

// GPT-2's pattern, without the trailing "|\s+" (splitting keeps unmatched gaps, so the result is the same).
constexpr const char* kGpt2 = R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))re";
// The case-insensitive contractions (?i:'s|...) spelled out, as llama.cpp adapts them.
#define POCKET_CONTRACTIONS R"re((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]))re"
constexpr const char* kLlama3 = POCKET_CONTRACTIONS
    R"re(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr const char* kQwen2 = POCKET_CONTRACTIONS
    R"re(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr const char* kJais2 = POCKET_CONTRACTIONS
    R"re(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S))re"
    R"re(|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1})re";
constexpr const char* kQwen35 = POCKET_CONTRACTIONS
    R"re(|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr const char* kSeedCoder = POCKET_CONTRACTIONS
    R"re(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr const char* kMiniCpm5 = POCKET_CONTRACTIONS
    R"re(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr const char* kExaoneMoe = POCKET_CONTRACTIONS
    R"re(|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+)re";
constexpr const char* kBailingMoe =
    R"re('(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*)re"
    R"re(|\s*[\r\n]|\s+(?!\S)|\s+)re";
// Upper/lower-case runs as llama.cpp adapts them: a "capital" is any letter but a-z, a "small" any but A-Z.
#define POCKET_CAPS R"re(((?=[\p{L}])([^a-z])))re"
#define POCKET_SMALLS R"re(((?=[\p{L}])([^A-Z])))re"
constexpr const char* kTekken = R"re([^\r\n\p{L}\p{N}]?)re" POCKET_CAPS "*" POCKET_SMALLS "+"
    R"re(|[^\r\n\p{L}\p{N}]?)re" POCKET_CAPS "+" POCKET_SMALLS "*"
    R"re(|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr const char* kGpt4o = R"re([^\r\n\p{L}\p{N}]?)re" POCKET_CAPS "*" POCKET_SMALLS "+" POCKET_CONTRACTIONS "?"
    R"re(|[^\r\n\p{L}\p{N}]?)re" POCKET_CAPS "+" POCKET_SMALLS "*" POCKET_CONTRACTIONS "?"
    R"re(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// Bloom / Poro / GPT3-Finnish: everything up to whitespace or . , ! ? … 。 ， 、 । ۔ ، (and the literal ( | ) ).
constexpr const char* kBloom = R"re( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{0964}\x{06D4}\x{060C})]+)re";
// CJK ranges used by the DeepSeek pre-tokenizers.
constexpr const char* kCjkHangul = R"re([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+)re";
constexpr const char* kCjkKana = R"re([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)re";
// DeepSeek LLM's "letters": the cased letters (Unicode LC) of its tokenizer.json, listed explicitly.
constexpr const char* kDeepseekLetters =
    R"re(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}\x{295}-\x{2AF})re"
    R"re(\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1})re"
    R"re(\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5})re"
    R"re(\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A})re"
    R"re(\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B})re"
    R"re(\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC})re"
    R"re(\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107})re"
    R"re(\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134})re"
    R"re(\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4})re"
    R"re(\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787})re"
    R"re(\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A})re"
    R"re(\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2})re"
    R"re(\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)re";
constexpr const char* kDeepseekPunct =
    R"re(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)re";
constexpr const char* kDeepseekV3Main =
    R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+)re"
    R"re(| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

struct Family {
  const char* name;
  std::initializer_list<const char*> aliases;
  std::initializer_list<const char*> regexes;
  bool clean_spaces;
  bool ignore_merges;
  bool add_bos;
  bool no_bos;
};

// One entry per llama.cpp pre-tokenizer type: (names, regexes, clean_spaces, ignore_merges, add_bos, no_bos).
const Family kFamilies[] = {
    {"default", {"default"},
     {R"re([\p{P}\$\+<=>\^~\|]+)re", kGpt2, R"re(\p{N}+)re", "[0-9][0-9][0-9]"}, true, false, false, false},
    {"llama3", {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
                "jina-v5-nano"}, {kLlama3}, true, true, true, false},
    {"dbrx", {"dbrx", "smaug-bpe"}, {kLlama3}, true, false, false, false},
    {"jais-2", {"jais-2"}, {kJais2}, true, false, false, false},
    {"deepseek-llm", {"deepseek-llm"},
     {"[\r\n]", kDeepseekLetters, kDeepseekPunct, R"re(\s+$)re", kCjkHangul, R"re(\p{N}+)re"}, false, false, false,
     false},
    {"deepseek-v3", {"deepseek-v3", "hunyuan-dense", "joyai-llm"},
     {R"re(\p{N}{1,3})re", kCjkKana, kDeepseekV3Main}, false, false, false, false},
    {"deepseek-coder", {"deepseek-coder"},
     {"[\r\n]", R"re(\s?\p{L}+)re", R"re(\s?\p{P}+)re", kCjkHangul, R"re(\p{N})re"}, false, false, false, false},
    {"falcon", {"falcon"}, {R"re([\p{P}\$\+<=>\^~\|`]+)re", kGpt2, "[0-9][0-9][0-9]"}, true, false, false, false},
    {"starcoder", {"starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"}, {R"re(\p{N})re", kGpt2},
     true, false, false, false},
    {"command-r", {"command-r", "smollm"}, {R"re(\p{N})re", kGpt2}, false, false, false, false},
    {"gpt-2", {"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
               "modern-bert", "mpt", "olmo", "jais", "exaone4", "jina-v1-en", "jina-v2-code", "roberta-bpe"},
     {kGpt2}, true, false, false, false},
    {"trillion", {"trillion", "granite-docling"}, {kGpt2}, false, false, false, false},
    {"qwen2", {"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2"}, {kQwen2}, false,
     false, false, false},
    {"stablelm2", {"stablelm2", "megrez"}, {kQwen2}, true, false, false, false},
    {"qwen35", {"qwen35"}, {kQwen35}, false, false, false, false},
    {"poro", {"poro-chat"}, {kBloom}, false, false, false, false},
    {"bloom", {"bloom", "gpt3-finnish"}, {kBloom}, true, false, false, false},
    {"chatglm", {"chatglm-bpe", "glm4"}, {kLlama3}, true, false, false, true},
    {"viking", {"viking"}, {kBloom, R"re(\p{N})re"}, false, false, false, false},
    {"tekken", {"tekken"}, {kTekken}, false, true, true, false},
    {"chameleon", {"chameleon"},
     {"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", R"re(([\t\n]|    |  ))re", R"re(\p{N})re",
      R"re([\p{P}!-/:-@\[-`{-~])re", kGpt2}, false, false, true, false},
    {"gpt-4o", {"gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"}, {kGpt4o}, false, false, false, false},
    {"seed-coder", {"seed-coder"}, {kSeedCoder}, false, false, false, false},
    {"bailingmoe", {"bailingmoe", "bailingmoe2", "llada-moe"}, {kBailingMoe}, false, false, false, false},
    {"minicpm5", {"minicpm5"}, {R"re(\p{N}{1,3})re", kMiniCpm5}, true, true, false, false},
    {"exaone-moe", {"exaone-moe"}, {kExaoneMoe}, true, false, false, false},
};

// Unicode White_Space (PropList.txt), the set llama.cpp's unicode tables and HF's regex engines use for \s.
constexpr const char* kWhitespaceSet =
    R"re(\x{9}-\x{D}\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})re";

// Non-ASCII White_Space: llama.cpp replaces these by \v before running a regex, so they never match a literal.
constexpr const char* kNonAsciiWhitespace =
    R"re(\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})re";

}  // namespace

std::string emulate_llama_regex(std::string_view regex) {
  const bool categories = regex.find("\\p{") != std::string_view::npos;
  std::string out;
  out.reserve(regex.size() + 64);
  for (size_t i = 0; i < regex.size(); ++i) {
    char c = regex[i];
    if (c == '\\' && i + 1 < regex.size()) {
      if (categories && regex.compare(i, 5, "\\p{S}") == 0) {
        out += "(?:(?!~)\\p{S})";  // llama.cpp's ASCII symbol set lacks '~'
        i += 4;
      } else {
        out += regex.substr(i, 2);
        ++i;
      }
      continue;
    }
    if (c != '[') {
      out += c;
      continue;
    }
    size_t end = i + 1;  // find the class's closing ']' (escapes skipped)
    while (end < regex.size() && regex[end] != ']') end += regex[end] == '\\' ? 2 : 1;
    std::string_view cls = regex.substr(i, std::min(end + 1, regex.size()) - i);
    const bool negated = cls.size() > 1 && cls[1] == '^';
    const bool has_tilde = cls.find('~') != std::string_view::npos;
    if (!categories && !negated && cls.find("\\x{") != std::string_view::npos) {
      out += "(?:(?![" + std::string(kNonAsciiWhitespace) + "])" + std::string(cls) + ")";
    } else if (categories && cls.find("\\p{S}") != std::string_view::npos && !has_tilde) {
      out += negated ? "(?:~|" + std::string(cls) + ")" : "(?:(?!~)" + std::string(cls) + ")";
    } else {
      out += cls;
    }
    i += cls.size() - 1;
  }
  return out;
}

std::string expand_whitespace_classes(std::string_view regex) {
  std::string out;
  out.reserve(regex.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < regex.size(); ++i) {
    char c = regex[i];
    if (c == '\\' && i + 1 < regex.size()) {
      char e = regex[i + 1];
      if (e == 's') {
        out += in_class ? std::string(kWhitespaceSet) : "[" + std::string(kWhitespaceSet) + "]";
      } else if (e == 'S' && !in_class) {
        out += "[^" + std::string(kWhitespaceSet) + "]";
      } else {
        out += c;
        out += e;
      }
      ++i;
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal in PCRE2; none of our regexes use that form.
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

Result<PreTokenizerSpec> find_pre_tokenizer(std::string_view pre_name) {
  std::string_view name = pre_name.empty() ? std::string_view("default") : pre_name;
  for (const Family& family : kFamilies) {
    for (const char* alias : family.aliases) {
      if (name == alias) {
        PreTokenizerSpec spec;
        spec.name = family.name;
        for (const char* r : family.regexes) spec.regexes.emplace_back(r);
        spec.clean_spaces = family.clean_spaces;
        spec.ignore_merges = family.ignore_merges;
        spec.add_bos = family.add_bos;
        spec.no_bos = family.no_bos;
        return spec;
      }
    }
  }
  return bad_input("tokenizer.ggml.pre: unknown or unsupported pre-tokenizer '{}' (supported: llama3, qwen2, "
                   "gpt-2, deepseek-llm, deepseek-coder, deepseek-v3, falcon, starcoder, ... ; see "
                   "`supported_pre_tokenizers()`)",
                   name);
}

std::vector<std::string> supported_pre_tokenizers() {
  std::vector<std::string> names;
  for (const Family& family : kFamilies) {
    for (const char* alias : family.aliases) names.emplace_back(alias);
  }
  return names;
}

struct PreTokenizer::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() {
    if (code) pcre2_code_free(code);
  }
};

PreTokenizer::~PreTokenizer() = default;

Result<std::shared_ptr<const PreTokenizer>> PreTokenizer::create(const std::vector<std::string>& regexes) {
  std::shared_ptr<PreTokenizer> pre(new PreTokenizer());
  for (const std::string& regex : regexes) {
    std::string pattern = expand_whitespace_classes(emulate_llama_regex(regex));
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &error_code, &error_offset,
                                     nullptr);
    if (code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error_code, message, sizeof(message));
      return failure("pre-tokenizer regex '{}' does not compile at offset {}: {}", regex, error_offset,
                     reinterpret_cast<const char*>(message));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // best effort: matching falls back to the interpreter
    auto compiled = std::make_unique<Compiled>();
    compiled->code = code;
    pre->regexes_.push_back(std::move(compiled));
  }
  return std::shared_ptr<const PreTokenizer>(std::move(pre));
}

namespace {

// Length of the UTF-8 character starting at text[i] in valid UTF-8.
size_t char_length(std::string_view text, size_t i) {
  unsigned char c = static_cast<unsigned char>(text[i]);
  size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  return std::min(n, text.size() - i);
}

// Splits one fragment [begin, begin + length) of `text` with `code`: matches and the gaps between them.
void split_fragment(pcre2_code* code, pcre2_match_data* match, std::string_view text, size_t begin, size_t length,
                    std::vector<std::pair<size_t, size_t>>& out) {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data() + begin);
  std::string_view fragment = text.substr(begin, length);
  size_t pos = 0;   // where the next search starts
  size_t done = 0;  // end of the last emitted piece
  while (pos < length) {
    int rc = pcre2_match(code, subject, length, pos, PCRE2_NO_UTF_CHECK, match, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(code, subject, length, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, match, nullptr);
    }
    if (rc < 0) break;  // no further match (or a resource limit: the rest stays one gap)
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match);
    size_t start = ov[0], end = ov[1];
    if (start > done) out.emplace_back(begin + done, start - done);
    if (end > start) {
      out.emplace_back(begin + start, end - start);
      done = end;
      pos = end;
    } else {
      done = std::max(done, start);
      pos = start + char_length(fragment, start);  // empty match: step over one character
    }
  }
  if (done < length) out.emplace_back(begin + done, length - done);
}

}  // namespace

void PreTokenizer::split(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
  out.clear();
  if (text.empty()) return;
  out.emplace_back(0, text.size());
  std::vector<std::pair<size_t, size_t>> next;
  for (const auto& regex : regexes_) {
    pcre2_match_data* match = pcre2_match_data_create_from_pattern(regex->code, nullptr);
    next.clear();
    for (const auto& [begin, length] : out) split_fragment(regex->code, match, text, begin, length, next);
    pcre2_match_data_free(match);
    out.swap(next);
  }
}

}  // namespace pocket
