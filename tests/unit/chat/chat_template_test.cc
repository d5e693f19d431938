// Unit tests of the Jinja interpreter: lexer whitespace rules, parser, expressions, statements, filters, tests,
// methods and the Python semantics chat templates rely on. Expected strings are what Jinja2 3.1 renders with
// transformers' settings (checked against python jinja2).
#include <gtest/gtest.h>

#include "chat_test_util.h"

namespace pocket::chat {
namespace {

using testing::render;
using Json = nlohmann::ordered_json;

struct Case {
  const char* source;
  const char* expected;
};

void check_all(const std::vector<Case>& cases, const Json& ctx = {}) {
  for (const auto& c : cases) EXPECT_EQ(render(c.source, ctx), c.expected) << "template: " << c.source;
}

TEST(ChatLexer, WhitespaceControlAndBlockTrimming) {
  check_all({
      {"a  {{- 'b' -}}  c", "abc"},
      {"a\n{% if true %}\nb\n{% endif %}\nc", "a\nb\nc"},       // trim_blocks eats the newline after %}
      {"a\n    {% if true %}b{% endif %}", "a\nb"},             // lstrip_blocks strips indentation before {%
      {"a\n    {{ 'b' }}", "a\n    b"},                         // ... but not before {{
      {"a\n  {%+ if true %}b{% endif %}", "a\n  b"},            // {%+ disables lstrip
      {"{% if true +%}\nb{% endif %}", "\nb"},                  // +%} disables trim_blocks
      {"a {# comment #} b", "a  b"},
      {"a\n  {# comment #}\nb", "a\nb"},
      {"x\n", "x"},                                             // keep_trailing_newline=False
      {"x\n\n", "x\n"},
      {"a\r\nb", "a\nb"},
      {"{% raw %}{{ not parsed }}{% endraw %}", "{{ not parsed }}"},
      {"{%- raw -%}  {{ x }}  {%- endraw -%}", "{{ x }}"},
      {"{% raw %}\n{{ x }}{% endraw %}\nb", "\n{{ x }}b"},   // raw %} keeps its newline, endraw %} trims
      {"{{ {'a': {'b': 1}} }}", "{'a': {'b': 1}}"},           // }} inside brackets is not the tag end
  });
}

TEST(ChatParser, SyntaxErrorsNameTheLine) {
  EXPECT_EQ(render("line1\n{% if x %}\nno end"),
            "ERROR: TemplateSyntaxError: line 3: unexpected end of template: missing '{% endif %}'");
  EXPECT_NE(render("\n\n{{ 1 + }}").find("line 3"), std::string::npos);
  EXPECT_NE(render("{% frobnicate %}").find("unknown tag 'frobnicate'"), std::string::npos);
  EXPECT_NE(render("{% break %}").find("outside of a loop"), std::string::npos);
  EXPECT_NE(render("{{ 'unterminated }}").find("unterminated string"), std::string::npos);
  EXPECT_NE(render("{{ x").find("line 1"), std::string::npos);
}

TEST(ChatEval, PythonStrOfValues) {
  check_all({
      {"{{ none }}|{{ true }}|{{ false }}|{{ 1 }}|{{ -3 }}", "None|True|False|1|-3"},
      {"{{ 1.0 }}|{{ 2.5 }}|{{ 1e20 }}|{{ 0.0001 }}|{{ 1e-5 }}|{{ 1/3 }}",
       "1.0|2.5|1e+20|0.0001|1e-05|0.3333333333333333"},
      {"{{ [1, 'a', none, true, 1.5] }}", "[1, 'a', None, True, 1.5]"},
      {"{{ {'k': 'v', 'n': [1]} }}", "{'k': 'v', 'n': [1]}"},
      {"{{ (1, 2) }}|{{ (1,) }}", "(1, 2)|(1,)"},
      {"{{ [\"it's\"] }}|{{ ['a\"b'] }}|{{ ['a\\nb'] }}", "[\"it's\"]|['a\"b']|['a\\nb']"},
      {"{{ undefined_var }}|{{ undefined_var ~ 'x' }}", "|x"},
  });
}

TEST(ChatEval, Arithmetic) {
  check_all({
      {"{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }}", "3 -4 1 2 3.5 1024"},
      {"{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 1 + 1.5 }} {{ true + 1 }}", "7 9 2.5 2"},
      {"{{ 'ab' * 3 }} {{ [1] * 2 }} {{ 'a' + 'b' }} {{ [1] + [2] }}", "ababab [1, 1] ab [1, 2]"},
      {"{{ 'a' ~ 1 ~ none }}", "a1None"},
      {"{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ [1,2] == [1,2] }}", "True False True True True"},
      {"{{ 'b' in 'abc' }} {{ 2 in [1,2] }} {{ 'k' in {'k':1} }} {{ 3 not in [1] }}", "True True True True"},
      {"{{ 1 if true else 2 }} {{ 1 if false else 2 }} [{{ 1 if false }}]", "1 2 []"},
      {"{{ 0 or 'x' }} {{ 1 and 'y' }} {{ not 0 }} {{ '' or [] }}", "x y True []"},
      {"{{ -(3) }} {{ - 2 ** 2 }}", "-3 4"},
  });
  EXPECT_NE(render("{{ 'a' + 1 }}").find("TypeError: can only concatenate str (not \"int\") to str"),
            std::string::npos);
  EXPECT_NE(render("{{ 1 / 0 }}").find("ZeroDivisionError"), std::string::npos);
  EXPECT_NE(render("{{ 9223372036854775807 + 1 }}").find("OverflowError"), std::string::npos);
}

TEST(ChatEval, IndexingAndSlicing) {
  Json ctx = {{"s", "héllo"}, {"l", {1, 2, 3, 4, 5}}, {"d", {{"a", 1}, {"items", 2}}}};
  check_all({
      {"{{ l[0] }} {{ l[-1] }} {{ l[1:3] }} {{ l[::2] }} {{ l[::-1] }} {{ l[-2:] }}",
       "1 5 [2, 3] [1, 3, 5] [5, 4, 3, 2, 1] [4, 5]"},
      {"{{ s[1] }} {{ s[1:3] }} {{ s[::-1] }} {{ s|length }}", "é él olléh 5"},
      {"{{ d.a }} {{ d['a'] }} {{ d['items'] }} {{ d.items()|list }}", "1 1 2 [('a', 1), ('items', 2)]"},
      {"[{{ l[10] }}] [{{ d.missing }}] {{ d.missing is defined }}", "[] [] False"},
      {"{{ l.0 }}", "1"},
  }, ctx);
}

TEST(ChatEval, Tests) {
  Json ctx = {{"n", nullptr}, {"s", "x"}, {"l", Json::array()}, {"d", Json::object()}, {"i", 3}, {"f", 1.5},
              {"b", true}};
  check_all({
      {"{{ n is none }} {{ s is string }} {{ i is number }} {{ i is integer }} {{ f is float }} {{ b is boolean }}",
       "True True True True True True"},
      {"{{ d is mapping }} {{ l is sequence }} {{ s is iterable }} {{ i is iterable }} {{ u is defined }}",
       "True True True False False"},
      {"{{ i is odd }} {{ i is even }} {{ i is divisibleby 3 }} {{ i is divisibleby(2) }}", "True False True False"},
      {"{{ s is equalto 'x' }} {{ s is eq 'y' }} {{ b is true }} {{ b is false }} {{ u is undefined }}",
       "True False True False True"},
      {"{{ s is not string }} {{ not s is string }} {{ b is sameas true }}", "False False True"},
      {"{{ i is gt 2 }} {{ i is lt 2 }} {{ 2 is in [1, 2] }}", "True False True"},
  }, ctx);
}

TEST(ChatEval, Filters) {
  Json ctx = {{"users", {{{"name", "b"}, {"age", 2}, {"on", true}}, {{"name", "a"}, {"age", 1}, {"on", false}}}},
              {"d", {{"b", 1}, {"A", 2}}}};
  check_all({
      {"{{ '  x  '|trim }}|{{ 'xxaxx'|trim('x') }}|{{ 'Ab'|upper }}{{ 'Ab'|lower }}|{{ 'hello world'|title }}",
       "x|a|ABab|Hello World"},
      {"{{ users|map(attribute='name')|join(', ') }}", "b, a"},
      {"{{ users|selectattr('on')|map(attribute='name')|list }}", "['b']"},
      {"{{ users|rejectattr('age', 'equalto', 1)|map(attribute='name')|first }}", "b"},
      {"{{ users|sort(attribute='age')|map(attribute='name')|join }}", "ab"},
      {"{{ [3, 1, 2]|sort }} {{ [3, 1, 2]|sort(reverse=true) }} {{ ['b', 'A', 'a']|sort }}",
       "[1, 2, 3] [3, 2, 1] ['A', 'a', 'b']"},
      {"{{ d|dictsort }} {{ d|items|list }}", "[('A', 2), ('b', 1)] [('b', 1), ('A', 2)]"},
      {"{{ u|default('dflt') }} {{ ''|default('e', true) }} {{ ''|d('e') }}", "dflt e "},
      {"{{ [1, 2, 3]|length }} {{ 'abc'|count }} {{ [1,2]|first }} {{ [1,2]|last }} {{ [1,1,2]|unique|list }}",
       "3 3 1 2 [1, 2]"},
      {"{{ '3'|int + 1 }} {{ 'x'|int }} {{ '2.5'|float }} {{ 3|string ~ 'x' }} {{ -2|abs }} {{ 2.567|round(1) }}",
       "4 0 2.5 3x 2 2.6"},
      {"{{ 'a-b'|replace('-', '+') }} {{ [1,2,3]|select('odd')|list }} {{ [1,2,3]|reject('odd')|list }}",
       "a+b [1, 3] [2]"},
      {"{{ 'a\nb'|indent(2) }}|{{ 'a\nb'|indent(2, true) }}", "a\n  b|  a\n  b"},
      {"{{ [1, 2, 3]|sum }} {{ [3, 1]|min }} {{ [3, 1]|max }} {{ [1,2,3]|batch(2)|list }}", "6 1 3 [[1, 2], [3]]"},
      {"{{ 'x'|center(5) }}|{{ '%s-%d'|format('a', 3) }}|{{ 'hello there world'|wordcount }}", "  x  |a-3|3"},
      {"{{ ['a', 'b']|map('upper')|list }} {{ 'ab'|list }} {{ 'abc'|reverse }}", "['A', 'B'] ['a', 'b'] cba"},
      {"{{ '<a>'|escape }} {{ '<a>'|safe }} {{ 'x'|safe + '<' }}", "&lt;a&gt; <a> x&lt;"},
      {"{{ 'long text here'|truncate(9, leeway=0) }}", "long..."},
  }, ctx);
  EXPECT_NE(render("{{ 1|nosuchfilter }}").find("No filter named 'nosuchfilter'"), std::string::npos);
  // As Jinja's compiler: unknown filters/tests fail the whole template, except directly under an `if`, where the
  // error is deferred to runtime (raised only if reached).
  EXPECT_EQ(render("{% if false %}{{ 1|nope }}{% endif %}ok"), "ok");
  EXPECT_EQ(render("{{ 1|nope if false else 2 }}"), "2");
  EXPECT_NE(render("{% if false %}{% for x in [1] %}{{ x|nope }}{% endfor %}{% endif %}ok").find("No filter named"),
            std::string::npos);
  EXPECT_NE(render("{% for x in [] %}{{ x is nope }}{% endfor %}ok").find("No test named 'nope'"), std::string::npos);
  EXPECT_NE(render("{% if true %}{{ 1|nope }}{% endif %}").find("No filter named 'nope' found"), std::string::npos);
}

TEST(ChatEval, ToJsonMatchesPythonJsonDumps) {
  Json ctx = {{"v", {{"b", "é\"\n\u0001"}, {"a", {1, 2.5, nullptr, true}}}}};
  check_all({
      {"{{ v|tojson }}", "{\"b\": \"é\\\"\\n\\u0001\", \"a\": [1, 2.5, null, true]}"},
      {"{{ v|tojson(indent=2) }}",
       "{\n  \"b\": \"é\\\"\\n\\u0001\",\n  \"a\": [\n    1,\n    2.5,\n    null,\n    true\n  ]\n}"},
      {"{{ v|tojson(sort_keys=true) }}", "{\"a\": [1, 2.5, null, true], \"b\": \"é\\\"\\n\\u0001\"}"},
      {"{{ v.a|tojson(separators=(',', ':')) }}", "[1,2.5,null,true]"},
      {"{{ {}|tojson }} {{ []|tojson(indent=2) }} {{ 1.0|tojson }} {{ 'x'|tojson }}", "{} [] 1.0 \"x\""},
  }, ctx);
  EXPECT_NE(render("{{ u|tojson }}").find("not JSON serializable"), std::string::npos);
}

TEST(ChatEval, StringMethods) {
  check_all({
      {"{{ '  a b  '.strip() }}|{{ 'xxa'.lstrip('x') }}|{{ 'a  '.rstrip() }}", "a b|a|a"},
      {"{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }}",
       "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b,c'] ['a,b', 'c']"},
      {"{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'c')) }} {{ 'aXa'.replace('a', 'b') }}",
       "True True bXb"},
      {"{{ 'Hi {}, {name}!'.format('you', name='me') }} {{ '{0}{0}'.format('z') }} {{ '{:>4}'.format(7) }}",
       "Hi you, me! zz    7"},
      {"{{ 'abc'.find('c') }} {{ 'abc'.find('z') }} {{ 'aaa'.count('a') }} {{ '-'.join(['a', 'b']) }}",
       "2 -1 3 a-b"},
      {"{{ 'a\nb'.splitlines() }} {{ '12'.isdigit() }} {{ 'ab'.upper() }} {{ 'hello'.capitalize() }}",
       "['a', 'b'] True AB Hello"},
      {"{{ 'x.y'.removeprefix('x.') }} {{ 'hello world'.title() }}", "y Hello World"},
  });
}

TEST(ChatEval, DictAndListMethodsAndSandbox) {
  Json ctx = {{"d", {{"a", 1}}}, {"l", {1, 2}}};
  check_all({
      {"{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 5) }} {{ d.keys()|list }} {{ d.values()|list }}",
       "1 None 5 ['a'] [1]"},
      {"{% for k, v in d.items() %}{{ k }}={{ v }}{% endfor %}", "a=1"},
      {"{{ l.index(2) }} {{ l.count(1) }} [{{ l.append }}]", "1 1 []"},
  }, ctx);
  // ImmutableSandboxedEnvironment refuses mutating methods.
  EXPECT_NE(render("{{ l.append(3) }}", ctx).find("SecurityError: access to attribute 'append' of 'list' object is unsafe"),
            std::string::npos);
  EXPECT_NE(render("{% set x = d.update({}) %}", ctx).find("SecurityError"), std::string::npos);
  EXPECT_NE(render("{{ d.pop('a') }}", ctx).find("SecurityError"), std::string::npos);
}

TEST(ChatEval, UndefinedAndNone) {
  check_all({
      {"[{{ u }}] [{% for x in u %}x{% endfor %}] {{ u|length }} {{ u is defined }} {{ not u }}",
       "[] [] 0 False True"},
      {"{{ u == u }} {{ 'a' in u }} {{ u|default(1) }}", "True False 1"},
  });
  EXPECT_NE(render("{{ u.attr }}").find("UndefinedError: 'u' is undefined"), std::string::npos);
  EXPECT_NE(render("{{ u + 1 }}").find("UndefinedError"), std::string::npos);
  EXPECT_NE(render("{{ u() }}").find("UndefinedError"), std::string::npos);
  EXPECT_NE(render("{% for x in none %}{% endfor %}").find("TypeError: 'NoneType' object is not iterable"),
            std::string::npos);
  EXPECT_NE(render("{{ 'a' in none }}").find("argument of type 'NoneType' is not iterable"), std::string::npos);
  EXPECT_NE(render("{{ none|length }}").find("object of type 'NoneType' has no len()"), std::string::npos);
  EXPECT_NE(render("{{ none.split() }}").find("'None' has no attribute 'split'"), std::string::npos);
}

TEST(ChatStatements, ForLoops) {
  check_all({
      {"{% for x in [1,2,3] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}{{ loop.last }}"
       "{{ loop.length }};{% endfor %}",
       "103TrueFalse3;212FalseFalse3;321FalseTrue3;"},
      {"{% for x in [1,2,3] if x != 2 %}{{ x }}{{ loop.index }}{% endfor %}", "1132"},
      {"{% for x in [] %}a{% else %}empty{% endfor %}", "empty"},
      {"{% for x in [1,2,3,4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}"
       "{% endfor %}",
       "13"},
      {"{% for x in 'ab' %}{{ x }}{% endfor %}{% for k in {'p': 1, 'q': 2} %}{{ k }}{% endfor %}", "abpq"},
      {"{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}", "37"},
      {"{% for x in [1,2,3] %}{{ loop.previtem }}-{{ loop.nextitem }}{{ loop.cycle('o', 'e') }} {% endfor %}",
       "-2o 1-3e 2-o "},
      {"{% for x in [1,[2,[3]]] recursive %}{% if x is iterable %}{{ loop(x) }}{% else %}{{ x }}@{{ loop.depth }}"
       "{% endif %}{% endfor %}",
       "1@12@23@3"},
      {"{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}", "1"},  // loop scope
  });
}

TEST(ChatStatements, SetNamespaceMacroCallFilter) {
  check_all({
      {"{% set a, b = 1, 2 %}{{ a }}{{ b }}", "12"},
      {"{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", "3"},
      {"{% set t %}block {{ 1 }}{% endset %}[{{ t }}]", "[block 1]"},
      {"{% set t | upper %}abc{% endset %}{{ t }}", "ABC"},
      {"{% macro m(a, b='d') %}{{ a }}-{{ b }}{% endmacro %}{{ m(1) }} {{ m(1, 2) }} {{ m(b=3, a=4) }}",
       "1-d 1-2 4-3"},
      {"{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}", "321"},
      {"{% macro w() %}<{{ caller() }}>{% endmacro %}{% call w() %}in{% endcall %}", "<in>"},
      {"{% macro w() %}{{ caller(5) }}{% endmacro %}{% call(x) w() %}x={{ x }}{% endcall %}", "x=5"},
      {"{% filter upper %}abc{{ 'd' }}{% endfilter %}", "ABCD"},
      {"{% generation %}kept{% endgeneration %}", "kept"},
      {"{% if false %}a{% elif true %}b{% else %}c{% endif %}", "b"},
      {"{{ range(3)|list }} {{ range(1, 7, 2)|list }} {{ dict(a=1) }}", "[0, 1, 2] [1, 3, 5] {'a': 1}"},
      {"{{ strftime_now('%Y-%m-%d %H:%M:%S %A %d %B') }}", "2025-03-04 05:06:07 Tuesday 04 March"},
  });
  EXPECT_EQ(render("{{ raise_exception('boom') }}"), "ERROR: chat template line 1 (in {{ ... }}): TemplateError: boom");
  EXPECT_NE(render("{% set x = 1 %}{% set x.y = 2 %}").find("non-namespace"), std::string::npos);
  // Macro arity as Jinja checks it: extra arguments only when the body uses varargs / kwargs / caller.
  EXPECT_NE(render("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}").find("takes not more than 1"),
            std::string::npos);
  EXPECT_NE(render("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, b=2) }}").find("no keyword argument 'b'"),
            std::string::npos);
  EXPECT_NE(render("{% macro m() %}{% endmacro %}{% call m() %}x{% endcall %}").find("TypeError"),
            std::string::npos);
  EXPECT_EQ(render("{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k=4) }}"),
            "1(2, 3){'k': 4}");
}

TEST(ChatFormat, ChatMlFallbackAndContext) {
  ChatRequest req;
  req.messages = Json::parse(R"([{"role": "user", "content": "hi"}])");
  req.add_generation_prompt = true;
  auto r = render_chat(kChatMlTemplate, req);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  auto ctx = chat_context(req);
  EXPECT_TRUE(ctx["tools"].is_null());
  EXPECT_TRUE(ctx["documents"].is_null());
  EXPECT_FALSE(parse_iso_time("2025-13-01T00:00:00").ok());
  EXPECT_FALSE(parse_iso_time("yesterday").ok());
  EXPECT_TRUE(parse_iso_time("2025-03-04").ok());
}

}  // namespace
}  // namespace pocket::chat
