// Every template in shared/templates x every conversation x {with, without generation prompt}: the render must equal
// the reference (Jinja2 as transformers' apply_chat_template) byte for byte, or fail where the reference raised.
// Cases listed in LENIENT.txt (a Python detail, not the template) may render or fail.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/chat_format.h"
#include "test_support.h"

namespace pocket::chat {
namespace {

namespace fs = std::filesystem;

std::string templates_dir() { return pocket::testing::shared_dir() + "/templates"; }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Case {
  std::string tmpl;
  std::string conv;
  bool gen;
  std::string name() const {
    std::string n = tmpl + "__" + conv + (gen ? "__gen" : "__nogen");
    for (char& c : n) {
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    return n;
  }
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.tmpl << " / " << c.conv << (c.gen ? " / gen" : " / nogen"); }

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  fs::path dir = templates_dir();
  if (!fs::exists(dir / "conversations.json")) return cases;
  auto convs = nlohmann::ordered_json::parse(slurp(dir / "conversations.json"));
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir / "templates")) {
    if (e.path().extension() == ".jinja") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  for (const auto& t : names) {
    for (const auto& c : convs) {
      for (bool gen : {false, true}) cases.push_back({t, c["id"].get<std::string>(), gen});
    }
  }
  return cases;
}

struct Totals {
  int passed = 0, failed = 0, lenient = 0;
  ~Totals() {
    std::printf("[golden templates] %d passed, %d failed, %d lenient (of %d)\n", passed, failed, lenient,
                passed + failed + lenient);
  }
};
Totals g_totals;

class GoldenTemplate : public ::testing::TestWithParam<Case> {};

TEST_P(GoldenTemplate, MatchesReference) {
  const Case& c = GetParam();
  fs::path dir = templates_dir();
  static const nlohmann::ordered_json convs = nlohmann::ordered_json::parse(slurp(dir / "conversations.json"));
  static const nlohmann::json config = nlohmann::json::parse(slurp(dir / "template_config.json"));
  static const std::set<std::string> lenient = [&] {
    std::set<std::string> s;
    std::istringstream in(slurp(dir / "LENIENT.txt"));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) s.insert(line);
    }
    return s;
  }();
  nlohmann::ordered_json conv;
  for (const auto& x : convs) {
    if (x["id"] == c.conv) conv = x;
  }
  ChatRequest req;
  req.messages = conv["messages"];
  req.tools = conv.contains("tools") ? conv["tools"] : nlohmann::ordered_json();
  req.add_generation_prompt = c.gen;
  req.bos_token = config[c.tmpl]["bos_token"].get<std::string>();
  req.eos_token = config[c.tmpl]["eos_token"].get<std::string>();
  req.now = parse_iso_time("2025-03-04T05:06:07").value();
  auto result = render_chat(slurp(dir / "templates" / (c.tmpl + ".jinja")), req);

  std::string stem = c.conv + (c.gen ? ".gen" : ".nogen");
  if (lenient.count(c.tmpl + "/" + stem)) {
    ++g_totals.lenient;
    return;
  }
  fs::path expected_ok = dir / "renders" / c.tmpl / (stem + ".txt");
  fs::path expected_err = dir / "renders" / c.tmpl / (stem + ".error.txt");
  bool pass;
  if (fs::exists(expected_err)) {
    pass = !result.ok();
    EXPECT_FALSE(result.ok()) << "reference raised: " << slurp(expected_err) << "\npocket rendered:\n"
                              << result.value();
  } else {
    ASSERT_TRUE(fs::exists(expected_ok)) << expected_ok;
    std::string want = slurp(expected_ok);
    pass = result.ok() && result.value() == want;
    if (!result.ok()) {
      ADD_FAILURE() << "pocket failed: " << result.status().message();
    } else if (result.value() != want) {
      const std::string& got = result.value();
      size_t i = 0;
      while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
      size_t from = i > 60 ? i - 60 : 0;
      ADD_FAILURE() << "first difference at byte " << i << " (got " << got.size() << " bytes, want " << want.size()
                    << ")\n--- want: " << nlohmann::json(want.substr(from, 160)).dump()
                    << "\n--- got:  " << nlohmann::json(got.substr(from, 160)).dump(-1, ' ', false,
                                                                                       nlohmann::json::error_handler_t::replace);
    }
  }
  (pass ? g_totals.passed : g_totals.failed)++;
}

INSTANTIATE_TEST_SUITE_P(All, GoldenTemplate, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name(); });

}  // namespace
}  // namespace pocket::chat
