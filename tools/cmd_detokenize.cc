// `pocket detokenize [-m FILE] [--render-special]`: reads whitespace-separated token ids from stdin and writes the
// decoded text's bytes exactly, adding nothing (llama.cpp's detokenize; special tokens render as nothing unless
// --render-special). An id that is not an integer or is outside the vocabulary is bad input (exit 2).
// Works on vocab-only GGUF files. Contract: shared/design/CLI.md.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "command.h"
#include "model_source.h"
#include "tokenizer/tokenizer.h"

namespace pocket {
namespace {

struct DetokenizeOptions {
  std::string model;
  bool render_special = false;
};

Result<std::vector<int32_t>> parse_ids(const std::string& text, int32_t n_vocab) {
  std::vector<int32_t> ids;
  size_t i = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    if (i >= text.size()) break;
    size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    std::string word = text.substr(start, i - start);
    char* end = nullptr;
    errno = 0;
    long long value = std::strtoll(word.c_str(), &end, 10);
    if (word.empty() || end != word.c_str() + word.size() || errno == ERANGE || word.find('\0') != std::string::npos) {
      return bad_input("stdin: token {} ('{}') is not an integer id", ids.size() + 1, word.substr(0, 40));
    }
    if (value < 0 || value >= n_vocab) {
      return bad_input("stdin: token {} is id {}, outside the vocabulary (0..{})", ids.size() + 1, value,
                       n_vocab - 1);
    }
    ids.push_back(static_cast<int32_t>(value));
  }
  return ids;
}

int run_detokenize(const DetokenizeOptions& opt) {
  auto file = open_model_file(opt.model);
  if (!file.ok()) return report_error(file.status());
  auto tokenizer = Tokenizer::from_gguf(*file);
  if (!tokenizer.ok()) return report_error(tokenizer.status());
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (std::cin.bad()) return report_error(failure("stdin: read error"));
  auto ids = parse_ids(input, tokenizer->n_vocab());
  if (!ids.ok()) return report_error(ids.status());
  std::string text = tokenizer->decode(*ids, opt.render_special);
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    return report_error(failure("stdout: write error"));
  }
  return 0;
}

CommandRegistration reg("detokenize", "Write the text of the token ids on stdin",
                        [](CLI::App& app) -> std::function<int()> {
                          auto opt = std::make_shared<DetokenizeOptions>();
                          add_model_option(app, opt->model);
                          app.add_flag("--render-special", opt->render_special,
                                       "render control tokens (e.g. <s>) as their text");
                          return [opt] { return run_detokenize(*opt); };
                        });

}  // namespace
}  // namespace pocket
