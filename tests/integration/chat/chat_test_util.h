// Helpers for the `pocket chat` tests: a private temporary directory, shell quoting, and counting the tokens of a
// conversation rendered independently with `pocket template` + `pocket tokenize`.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace pocket::chat_test {

// '...' for /bin/sh.
inline std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A fresh directory under $TMPDIR (or /tmp), removed at the end.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/pocket-chat-XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// Number of tokens `pocket chat` should see for `messages` (+ generation prompt) with the default (embedded)
// model: rendered by `pocket template`, tokenized by `pocket tokenize --ids` (BOS added as the model asks).
inline int64_t count_prompt_tokens(const nlohmann::ordered_json& messages, const std::string& dir,
                                   const std::string& template_args = "") {
  const std::string conv = dir + "/count-conv.json";
  write_file(conv, nlohmann::ordered_json{{"messages", messages}}.dump());
  const std::string bin = testing::pocket_bin();
  auto r = testing::run_command(bin + " template " + template_args + " --add-generation-prompt --messages " +
                                quote(conv) + " | " + bin + " tokenize --ids");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  int64_t n = 0;
  for (std::string id; in >> id;) ++n;
  return n;
}

// The numbers of the last "/stats" block in `text`.
struct StatsNumbers {
  int64_t turns = -1, messages = -1, in_context = -1, n_ctx = -1, prompt = -1, processed = -1, reused = -1;
};

// The capture groups of the last match of `re` in `text` (empty when none).
inline std::vector<std::string> last_match(const std::string& text, const std::regex& re) {
  std::vector<std::string> groups;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
    groups.clear();
    for (size_t i = 1; i < it->size(); ++i) groups.push_back((*it)[i].str());
  }
  return groups;
}

inline StatsNumbers parse_last_stats(const std::string& text) {
  StatsNumbers s;
  auto g = last_match(text, std::regex(R"(turns: (\d+) \((\d+) messages\))"));
  if (g.size() == 2) {
    s.turns = std::stoll(g[0]);
    s.messages = std::stoll(g[1]);
  }
  g = last_match(text, std::regex(R"(tokens in context: (\d+) / (\d+))"));
  if (g.size() == 2) {
    s.in_context = std::stoll(g[0]);
    s.n_ctx = std::stoll(g[1]);
  }
  g = last_match(text, std::regex(R"(last turn: prompt (\d+) tokens, prompt tokens processed this turn: (\d+) )"
                                  R"(\(reused (\d+)\))"));
  if (g.size() == 3) {
    s.prompt = std::stoll(g[0]);
    s.processed = std::stoll(g[1]);
    s.reused = std::stoll(g[2]);
  }
  return s;
}

}  // namespace pocket::chat_test
