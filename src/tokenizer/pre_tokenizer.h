// Byte-level BPE pre-tokenizers: the regex sequence llama.cpp uses for each tokenizer.ggml.pre name, run with
// PCRE2 (UTF + UCP). Each regex splits every current fragment into its matches and the unmatched gaps between them
// (llama.cpp's unicode_regex_split / HF's Split(behavior=Isolated)), so later regexes refine earlier splits.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace pocket {

// What a pre-tokenizer name implies, as llama.cpp's vocab loader sets it.
struct PreTokenizerSpec {
  std::string name;                  // canonical family name, e.g. "llama3"
  std::vector<std::string> regexes;  // applied in order
  bool clean_spaces = true;          // detokenize cleans " ," " 's" etc. (clean_up_tokenization_spaces)
  bool ignore_merges = false;        // a pre-token that is itself a token is not merged further
  bool add_bos = false;              // default for tokenizer.ggml.add_bos_token
  bool no_bos = false;               // the family has no BOS token by default (chatglm)
};

// The spec for a tokenizer.ggml.pre value; "" (key absent) means "default" as in llama.cpp. Unknown or
// unsupported names are an error naming the key.
Result<PreTokenizerSpec> find_pre_tokenizer(std::string_view pre_name);
// Every name find_pre_tokenizer accepts.
std::vector<std::string> supported_pre_tokenizers();

class PreTokenizer {
 public:
  // Compiles (and JIT-compiles) the regexes; an error names the regex that failed.
  static Result<std::shared_ptr<const PreTokenizer>> create(const std::vector<std::string>& regexes);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Splits valid UTF-8 `text` into pre-tokens: (offset, length) pairs covering the text in order, none empty.
  // Thread-safe.
  void split(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

 private:
  PreTokenizer() = default;
  struct Compiled;
  std::vector<std::unique_ptr<Compiled>> regexes_;
};

// Replaces \s and \S (outside and inside character classes) with the explicit Unicode White_Space set that
// llama.cpp and the Hugging Face tokenizers use (PCRE2's \s also matches U+180E). Exposed for tests.
std::string expand_whitespace_classes(std::string_view regex);

// Rewrites a regex so PCRE2 reproduces two quirks of llama.cpp's regex splitting (exposed for tests):
//  - regexes without \p{..} run on text where non-ASCII whitespace became \v, so such characters never match a
//    non-ASCII literal range (e.g. DeepSeek's [\x{0800}-\x{4E00}] does not take U+3000 or U+2028);
//  - regexes with \p{..} run on "collapsed" text whose ASCII symbol set is $+<=>^`| without '~', so '~' is not
//    \p{S} there.
std::string emulate_llama_regex(std::string_view regex);

}  // namespace pocket
