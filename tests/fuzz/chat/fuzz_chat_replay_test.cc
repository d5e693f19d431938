// Replays random and mutated templates through the fuzz entry point without libFuzzer: the 40 real chat templates
// mutated (byte flips, deletions, duplicated and spliced spans, inserted Jinja fragments) plus random token soup.
// Every input must end (rendered or a clean error) without crashing; the whole run is time-bounded by ctest.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "fuzz_chat_entry.h"
#include "test_support.h"

namespace pocket::chat {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> seed_corpus() {
  std::vector<std::string> seeds;
  fs::path dir = fs::path(pocket::testing::shared_dir()) / "templates" / "templates";
  if (fs::exists(dir)) {
    std::vector<fs::path> paths;
    for (const auto& e : fs::directory_iterator(dir)) paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    for (const auto& p : paths) {
      std::ifstream in(p, std::ios::binary);
      std::ostringstream ss;
      ss << in.rdbuf();
      seeds.push_back(ss.str());
    }
  }
  seeds.push_back("{% for m in messages %}{{ m.role }}: {{ m.content }}{% endfor %}");
  seeds.push_back("{% macro f(n) %}{{ n }}{% if n %}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(5) }}");
  return seeds;
}

const char* kFragments[] = {
    "{{", "}}", "{%", "%}", "{#", "#}", "{%-", "-%}", "{{-", "-}}", "{% for x in messages %}", "{% endfor %}",
    "{% if x %}", "{% else %}", "{% endif %}", "{% set ns = namespace(a=1) %}", "{% set ns.a = ns.a + 1 %}",
    "{% macro m(a) %}", "{% endmacro %}", "{{ m(1) }}", "{% raw %}", "{% endraw %}", "|tojson", "|trim", "|length",
    "|join(', ')", "|map(attribute='role')", "|selectattr('role', 'equalto', 'user')", ".split(',')", ".strip()",
    "[0]", "[-1]", "[::-1]", "[1:]", " is defined ", " is not none ", " in ", " not ", " and ", " or ", " ~ ",
    " + ", " * 1000 ", " // ", " % ", " ** ", "(", ")", "[", "]", "{", "}", "'", "\"", "\\", "\n", "loop.index",
    "loop", "messages", "tools", "none", "true", "1e308", "9223372036854775807", "-1", "range(100000)",
    "raise_exception('x')", "strftime_now('%Y')", "{% break %}", "{% continue %}", "{% call m(1) %}",
    "{% endcall %}", "{% filter upper %}", "{% endfilter %}", "{% generation %}", "{% endgeneration %}",
    " recursive ", "{{ loop(messages) }}", "caller()", "\xff", "\xc3", "\xe2\x80\xa8", "\0"};

std::string mutate(std::string s, std::mt19937_64& rng, const std::vector<std::string>& seeds) {
  int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 6) {
      case 0:
        if (!s.empty() && pos < s.size()) s[pos] = static_cast<char>(rng() & 0xff);
        break;
      case 1:
        if (!s.empty() && pos < s.size()) s.erase(pos, std::min<size_t>(1 + rng() % 64, s.size() - pos));
        break;
      case 2:
        s.insert(pos, kFragments[rng() % (sizeof(kFragments) / sizeof(kFragments[0]))]);
        break;
      case 3:
        if (!s.empty() && pos < s.size()) {
          size_t len = std::min<size_t>(1 + rng() % 200, s.size() - pos);
          std::string span = s.substr(pos, len);
          s.insert(rng() % (s.size() + 1), span);
        }
        break;
      case 4: {
        const std::string& other = seeds[rng() % seeds.size()];
        if (!other.empty()) {
          size_t from = rng() % other.size();
          s.insert(pos, other.substr(from, std::min<size_t>(1 + rng() % 300, other.size() - from)));
        }
        break;
      }
      default:
        if (pos < s.size()) s.resize(pos);
    }
    if (s.size() > 64 * 1024) s.resize(64 * 1024);
  }
  return s;
}

std::string token_soup(std::mt19937_64& rng) {
  std::string s;
  int n = 1 + static_cast<int>(rng() % 40);
  for (int i = 0; i < n; ++i) s += kFragments[rng() % (sizeof(kFragments) / sizeof(kFragments[0]))];
  return s;
}

TEST(FuzzChatReplay, SeedsRenderOrFailCleanly) {
  for (const auto& seed : seed_corpus()) {
    fuzz_chat_template_once(reinterpret_cast<const uint8_t*>(seed.data()), seed.size());
  }
}

TEST(FuzzChatReplay, MutatedAndRandomTemplates) {
  std::vector<std::string> seeds = seed_corpus();
  std::mt19937_64 rng(20261123);
  const int kIterations = 20000;
  int rendered = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kIterations; ++i) {
    std::string input = (i % 4 == 3) ? token_soup(rng) : mutate(seeds[rng() % seeds.size()], rng, seeds);
    auto t0 = std::chrono::steady_clock::now();
    rendered += fuzz_chat_template_once(reinterpret_cast<const uint8_t*>(input.data()), input.size());
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_LT(seconds, 5.0) << "input " << i << " took too long:\n" << input.substr(0, 2000);
  }
  double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[fuzz replay] %d inputs, %d rendered, %d failed cleanly, %.1f s\n", kIterations, rendered,
              kIterations - rendered, total);
}

}  // namespace
}  // namespace pocket::chat
