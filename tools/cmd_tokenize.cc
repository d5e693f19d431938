// `pocket tokenize [-m FILE] [--ids] [--no-add-special] [--no-parse-special]`: reads all of stdin as one text (bytes
// as they are) and prints its token ids, space-separated on one line with --ids, else a table "id -> 'piece'"
// (pieces rendered as llama.cpp's token_to_piece with special tokens shown; control bytes escaped as \n, \t, \xNN
// so that every row stays on one line). Works on vocab-only GGUF files. Contract: shared/design/CLI.md.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include <fmt/format.h>

#include "command.h"
#include "model_source.h"
#include "tokenizer/tokenizer.h"

namespace pocket {
namespace {

struct TokenizeOptions {
  std::string model;
  bool ids = false;
  bool no_add_special = false;
  bool no_parse_special = false;
};

std::string escape_piece(const std::string& piece) {
  std::string out;
  for (char c : piece) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (u < 0x20 || u == 0x7F) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out;
}

int run_tokenize(const TokenizeOptions& opt) {
  auto file = open_model_file(opt.model);
  if (!file.ok()) return report_error(file.status());
  auto tokenizer = Tokenizer::from_gguf(*file);
  if (!tokenizer.ok()) return report_error(tokenizer.status());
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (std::cin.bad()) return report_error(failure("stdin: read error"));
  std::vector<int32_t> ids = tokenizer->encode(text, !opt.no_add_special, !opt.no_parse_special);
  std::string out;
  if (opt.ids) {
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) out += ' ';
      out += std::to_string(ids[i]);
    }
    out += '\n';
  } else {
    for (int32_t id : ids) {
      out += fmt::format("{:>6} -> '{}'\n", id, escape_piece(tokenizer->token_to_piece(id, true)));
    }
  }
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
    return report_error(failure("stdout: write error"));
  }
  return 0;
}

CommandRegistration reg("tokenize", "Print the token ids of the text on stdin",
                        [](CLI::App& app) -> std::function<int()> {
                          auto opt = std::make_shared<TokenizeOptions>();
                          add_model_option(app, opt->model);
                          app.add_flag("--ids", opt->ids, "print only the ids, space-separated on one line");
                          app.add_flag("--no-add-special", opt->no_add_special,
                                       "do not add BOS/EOS even if the model asks for them");
                          app.add_flag("--no-parse-special", opt->no_parse_special,
                                       "treat control tokens written in the text as plain text");
                          return [opt] { return run_tokenize(*opt); };
                        });

}  // namespace
}  // namespace pocket
