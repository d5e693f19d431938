// Hostile templates end with a clear error within the limits: no crash, no hang, bounded memory.
#include <chrono>

#include <gtest/gtest.h>

#include "chat_test_util.h"

namespace pocket::chat {
namespace {

using testing::render;

// Renders `source` and expects an error containing `what`, within a few seconds.
void expect_bounded_error(const std::string& source, const std::string& what) {
  auto start = std::chrono::steady_clock::now();
  std::string out = render(source);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(out.rfind("ERROR: ", 0), 0u) << "rendered instead of failing: " << out.substr(0, 200);
  EXPECT_NE(out.find(what), std::string::npos) << out.substr(0, 300);
  EXPECT_LT(seconds, 30.0) << source.substr(0, 100);  // generous: sanitizer builds run ~5x slower
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(ChatHostile, InfiniteMacroRecursion) {
  expect_bounded_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "RecursionError");
  expect_bounded_error("{% macro f() %}{% for x in [1] %}{% if true %}{{ f() }}{% endif %}{% endfor %}{% endmacro %}"
                       "{{ f() }}",
                       "RecursionError");
  expect_bounded_error("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", "RecursionError");
}

TEST(ChatHostile, HugeLoops) {
  expect_bounded_error("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "Error");
  expect_bounded_error("{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}",
                       "Error");
  expect_bounded_error("{{ range(100000000)|length }}", "MemoryError");
  expect_bounded_error("{% set big = range(900000) %}{% for i in range(100000) %}{% if -1 in big %}{% endif %}"
                       "{% endfor %}",
                       "StepLimitError");
  expect_bounded_error("{{ range(300000)|unique|list|length }}", "StepLimitError");
}

TEST(ChatHostile, StringAndListGrowth) {
  expect_bounded_error("{{ 'a' * 1000000000 }}", "OutputLimitError");
  expect_bounded_error("{{ 'ab' * 9223372036854775807 }}", "OutputLimitError");
  expect_bounded_error("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
                       "{% endfor %}",
                       "OutputLimitError");
  expect_bounded_error("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}"
                       "{% endfor %}",
                       "MemoryError");
  // A shared structure whose printed form doubles each step.
  expect_bounded_error("{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}"
                       "{% endfor %}{{ ns.l }}",
                       "OutputLimitError");
  expect_bounded_error("{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}"
                       "{% endfor %}{{ ns.l|tojson }}",
                       "OutputLimitError");
  expect_bounded_error("{% for i in range(1000000) %}{{ 'x' * 1000 }}{% endfor %}", "Error");
  expect_bounded_error("{{ 'x'|center(2000000000) }}", "OutputLimitError");
}

TEST(ChatHostile, DeeplyNestedSyntax) {
  expect_bounded_error("{{ " + repeat("(", 100000) + "1" + repeat(")", 100000) + " }}", "nested too deep");
  expect_bounded_error("{{ " + repeat("[", 100000) + repeat("]", 100000) + " }}", "nested too deep");
  expect_bounded_error("{{ 1" + repeat(" + 1", 100000) + " }}", "nested too deep");
  expect_bounded_error("{{ x" + repeat("|trim", 100000) + " }}", "nested too deep");
  expect_bounded_error("{{ x" + repeat(".a", 100000) + " }}", "nested too deep");
  expect_bounded_error("{{ " + repeat("not ", 100000) + "x }}", "nested too deep");
  expect_bounded_error("{{ " + repeat("-", 100000) + "1 }}", "nested too deep");
  expect_bounded_error(repeat("{% if true %}", 100000) + repeat("{% endif %}", 100000), "nested too deep");
  expect_bounded_error(repeat("{% for x in [1] %}", 5000) + repeat("{% endfor %}", 5000), "nested too deep");
}

TEST(ChatHostile, GarbageInputFailsCleanly) {
  for (const char* src : {"{%", "{{", "{#", "{% for %}", "{% for x in %}", "{{ 'a' ", "{% set %}", "{{ 1 + }}",
                          "{% macro %}", "{% endfor %}", "{{ ) }}", "{{ a[ }}", "{{ a. }}", "{% if %}{% endif %}",
                          "{{ \"\\x\" }}", "{{ 1e }}", "{% raw %}", "{{ {1: } }}", "{{ 'a' is }}"}) {
    std::string out = render(src);
    EXPECT_EQ(out.rfind("ERROR: ", 0), 0u) << src << " -> " << out;
  }
}

}  // namespace
}  // namespace pocket::chat
