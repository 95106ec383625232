// The Jinja interpreter, feature by feature. Expected strings are what jinja2 3.1.6 renders with the
// environment transformers builds for chat templates (trim_blocks, lstrip_blocks, loopcontrols, its tojson).
#include <gtest/gtest.h>

#include <ctime>

#include "models/tokenizers/jinja/template.h"
#include "runtime/core/error.h"

namespace {

using glint::jinja::Template;
using glint::jinja::Value;

std::string render(const std::string& source, const std::string& vars_json = "{}") {
  std::vector<std::pair<std::string, Value>> vars;
  auto j = nlohmann::ordered_json::parse(vars_json);
  for (const auto& [k, v] : j.items()) vars.emplace_back(k, Value::from_json(v));
  return Template(source).render(vars);
}

std::string error_of(const std::string& source, const std::string& vars_json = "{}") {
  try {
    render(source, vars_json);
  } catch (const glint::Error& e) {
    return e.what();
  }
  return "(no error)";
}

struct Case {
  const char* name;
  const char* source;
  const char* vars;
  const char* expected;
};

const Case kCases[] = {
    {"text and output", R"J(a{{ 1 }}b{{ 'x' }}c)J", R"J({})J", R"J(a1bxc)J"},
    {"comment", R"J(a{# hidden #}b)J", R"J({})J", R"J(ab)J"},
    {"whitespace control", R"J(a  {{- 'b' -}}  c
{%- if true -%}
  d  
{%- endif %})J",
     R"J({})J", R"J(abcd)J"},
    {"trim and lstrip blocks", R"J(x
    {% if true %}
    y
    {% endif %}
z)J",
     R"J({})J", R"J(x
    y
z)J"},
    {"plus disables lstrip", R"J(x
    {%+ if true %}y{% endif %})J",
     R"J({})J", R"J(x
    y)J"},
    {"variable tags are not lstripped", R"J(x
    {{ 'y' }}
)J",
     R"J({})J", R"J(x
    y)J"},
    {"crlf and trailing newline", R"J(a
b
)J",
     R"J({})J", R"J(a
b)J"},
    {"if elif else",
     R"J({% for n in [1, 2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %},{% endfor %})J",
     R"J({})J", R"J(one,two,many,)J"},
    {"loop variables",
     R"J({% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %})J",
     R"J({})J", R"J(1032TrueFalse3;2121FalseFalse3;3210FalseTrue3;)J"},
    {"loop prev next cycle",
     R"J({% for x in [1, 2, 3] %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }} {{ loop.cycle('a', 'b') }}|{% endfor %})J",
     R"J({})J", R"J(<1>2 a|1<2>3 b|2<3> a|)J"},
    {"for with filter and else",
     R"J({% for x in range(6) if x is odd %}{{ x }}{{ loop.length }} {% endfor %}{% for x in [] %}no{% else %}empty{% endfor %})J",
     R"J({})J", R"J(13 33 53 empty)J"},
    {"for unpacking dict items",
     R"J({% for k, v in {'b': 1, 'a': 2}.items() %}{{ k }}={{ v }};{% endfor %}{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %})J",
     R"J({})J", R"J(b=1;a=2;xy)J"},
    {"break and continue",
     R"J({% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %})J",
     R"J({})J", R"J(0134)J"},
    {"set scoping",
     R"J({% set c = 0 %}{% for i in [1, 2] %}{% set c = c + i %}{{ c }}{% endfor %}{{ c }}{% if true %}{% set d = 5 %}{% endif %}{{ d }})J",
     R"J({})J", R"J(1205)J"},
    {"namespace",
     R"J({% set ns = namespace(total=0, seen=none) %}{% for i in [1, 2, 3] %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }} {{ ns.seen }})J",
     R"J({})J", R"J(6 None)J"},
    {"block set with filter", R"J({% set greeting | upper %}hello {{ name }}{% endset %}[{{ greeting }}])J",
     R"J({"name": "bob"})J", R"J([HELLO BOB])J"},
    {"tuple set", R"J({% set a, b = 1, 'two' %}{{ a }}{{ b }})J", R"J({})J", R"J(1two)J"},
    {"macro with defaults and call",
     R"J({% macro tag(name, cls='x') %}<{{ name }} class={{ cls }}>{{ varargs|length }}{% endmacro %}{{ tag('a') }}{{ tag('b', cls='y') }}{{ tag('c', 'z', 1, 2) }})J",
     R"J({})J", R"J(<a class=x>0<b class=y>0<c class=z>2)J"},
    {"call block",
     R"J({% macro wrap(t) %}[{{ t }}:{{ caller() }}]{% endmacro %}{% call wrap('w') %}inner{% endcall %})J", R"J({})J",
     R"J([w:inner])J"},
    {"filter block", R"J({% filter upper %}abc{{ 'd' }}{% endfilter %})J", R"J({})J", R"J(ABCD)J"},
    {"string filters",
     R"J({{ '  Hi  '|trim }}|{{ 'hello world'|title }}|{{ 'hELLO'|capitalize }}|{{ 'Ab'|upper }}{{ 'Ab'|lower }}|{{ 'aXbX'|replace('X', '-') }}|{{ 'xxhixx'|trim('x') }})J",
     R"J({})J", R"J(Hi|Hello World|Hello|ABab|a-b-|hi)J"},
    {"length first last join",
     R"J({{ [1, 2, 3]|length }}{{ 'héllo'|length }}{{ {'a': 1}|length }}|{{ [1, 2]|first }}{{ [1, 2]|last }}|{{ ['a', 'b']|join(', ') }}|{{ [{'n': 'x'}, {'n': 'y'}]|join('-', attribute='n') }})J",
     R"J({})J", R"J(351|12|a, b|x-y)J"},
    {"default",
     R"J({{ missing|default('dflt') }}|{{ ''|default('empty', true) }}|{{ none|d('n') }}|{{ 0|default(5) }})J",
     R"J({})J", R"J(dflt|empty|None|0)J"},
    {"numbers",
     R"J({{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1.5 + 1 }} {{ 1e16 }} {{ 0.1 + 0.2 }} {{ 3.0 }} {{ 10 / 4 * 2 }})J",
     R"J({})J", R"J(3 -4 2 3.5 1024 2.5 1e+16 0.30000000000000004 3.0 5.0)J"},
    {"int float round abs",
     R"J({{ '42'|int }} {{ 3.9|int }} {{ 'x'|int(-1) }} {{ '2.5'|float }} {{ 3|float }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.567|round(2) }} {{ 2.1|round(0, 'ceil') }} {{ -3|abs }})J",
     R"J({})J", R"J(42 3 -1 2.5 3.0 2.0 4.0 2.57 3.0 3)J"},
    {"tojson",
     R"J({{ {'b': [1, 2.5, none, true], 'a': 'é"\n'}|tojson }}|{{ [1, {'k': 'v'}]|tojson(indent=2) }}|{{ {}|tojson }}{{ []|tojson(indent=4) }}|{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }})J",
     R"J({})J", R"J({"b": [1, 2.5, null, true], "a": "é\"\n"}|[
  1,
  {
    "k": "v"
  }
]|{}[]|{"a": 2, "b": 1})J"},
    {"items list dictsort unique",
     R"J({{ {'b': 1, 'a': 2}|items|list }}|{{ {'b': 1, 'a': 2}|dictsort }}|{{ [3, 1, 3, 'A', 'a']|unique|list }}|{{ 'ab'|list }})J",
     R"J({})J", R"J([('b', 1), ('a', 2)]|[('a', 2), ('b', 1)]|[3, 1, 'A']|['a', 'b'])J"},
    {"select reject map",
     R"J({{ [1, 2, 3, 4]|select('even')|list }}{{ [1, 2, 3, 4]|reject('odd')|list }}{{ [{'r': 'u'}, {'r': 'a'}, {'r': 'u'}]|selectattr('r', 'equalto', 'u')|list|length }}{{ [{'r': 'u'}, {'r': 'a'}]|rejectattr('r', 'equalto', 'u')|map(attribute='r')|list }}{{ ['a', 'b']|map('upper')|join }})J",
     R"J({})J", R"J([2, 4][2, 4]2['a']AB)J"},
    {"sort reverse sum min max",
     R"J({{ [3, 1, 2]|sort }}{{ [3, 1, 2]|sort(reverse=true) }}{{ 'abc'|reverse }}{{ [1, 2]|reverse|list }}{{ [1, 2.5]|sum }}{{ [4, 2, 8]|min }}{{ [4, 2, 8]|max }})J",
     R"J({})J", R"J([1, 2, 3][3, 2, 1]cba[2, 1]3.528)J"},
    {"string and safe and string repr",
     R"J({{ [1, 'a', none, true, 1.0, {'k': 'v'}]|string }}|{{ (1, 2) }}|{{ "it's" }}|{{ ["it's", 'say "hi"'] }}|{{ 'x'|safe }})J",
     R"J({})J", R"J([1, 'a', None, True, 1.0, {'k': 'v'}]|(1, 2)|it's|["it's", 'say "hi"']|x)J"},
    {"tests",
     R"J({{ x is defined }}{{ y is undefined }}{{ none is none }}{{ 'a' is string }}{{ 1 is number }}{{ true is number }}{{ {} is mapping }}{{ [] is iterable }}{{ 'a' is sequence }}{{ true is boolean }}{{ false is false }}{{ true is true }}{{ 1 is integer }}{{ 1.0 is float }}{{ 'b' is in 'abc' }}{{ 2 is equalto 2 }}{{ 3 is divisibleby 3 }}{{ x is not none }})J",
     R"J({"x": 1})J", R"J(TrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrue)J"},
    {"operators",
     R"J({{ 1 < 2 < 3 }}{{ 'a' in ['a'] }}{{ 'z' not in 'abc' }}{{ 'k' in {'k': 1} }}{{ not 0 }}{{ 0 or 'x' }}{{ 1 and 'y' }}{{ 'a' ~ 1 ~ none }}{{ [1] + [2] }}{{ 'ab' * 2 }}{{ 1 == 1.0 }}{{ 1 != 2 }}{{ -(3) }})J",
     R"J({})J", R"J(TrueTrueTrueTrueTruexya1None[1, 2]ababTrueTrue-3)J"},
    {"ternary", R"J({{ 'yes' if 1 else 'no' }}|{{ 'yes' if 0 else 'no' }}|{{ 'only' if false }}|)J", R"J({})J",
     R"J(yes|no||)J"},
    {"literals",
     R"J({{ True }}{{ False }}{{ None }}{{ true }}{{ 'a\tb\u00e9\x41' }}{{ "it's" 'concat' }}{{ [1, [2, 3]] }}{{ {'a': {'b': 1}} }}{{ 0x10 if false else 1_000 }})J",
     R"J({})J", R"J(TrueFalseNoneTruea	béAit'sconcat[1, [2, 3]]{'a': {'b': 1}}1000)J"},
    {"attribute and subscript",
     R"J({{ d.a }}{{ d['a'] }}{{ d.b.c }}{{ l[0] }}{{ l[-1] }}{{ l.1 }}{{ d.missing }}{{ l[10] }}{{ d.get('a') }}{{ d.get('zz', 'dflt') }}{{ d.keys()|list }}{{ d['values'] is defined }})J",
     R"J({"d": {"a": 1, "b": {"c": 2}}, "l": [10, 20, 30]})J", R"J(1121030201dflt['a', 'b']True)J"},
    {"slicing",
     R"J({{ 'hello'[1:3] }}{{ 'hello'[::-1] }}{{ [1, 2, 3, 4][1:] }}{{ [1, 2, 3, 4][:-1] }}{{ [1, 2, 3, 4][::2] }}{{ 'héllo'[1] }}{{ [1, 2, 3][5:] }})J",
     R"J({})J", R"J(elolleh[2, 3, 4][1, 2, 3][1, 3]é[])J"},
    {"string methods",
     R"J({{ 'a,b,,c'.split(',') }}{{ ' a  b '.split() }}{{ 'a b c'.split(' ', 1) }}{{ 'a b c'.rsplit(' ', 1) }}{{ '..x..'.strip('.') }}{{ '  x'.lstrip() }}{{ 'x\n\n'.rstrip('\n') }}{{ 'Hi'.startswith('H') }}{{ 'Hi'.endswith(('x', 'i')) }}{{ 'a-b'.replace('-', '+') }}{{ "they're bill".title() }}{{ 'ab'.upper() }}{{ 'x{}y{}'.format(1, 'z') }}{{ ', '.join(['a', 'b']) }}{{ 'banana'.count('a') }}{{ 'banana'.find('n') }})J",
     R"J({})J", R"J(['a', 'b', '', 'c']['a', 'b']['a', 'b c']['a b', 'c']xxxTrueTruea+bThey'Re BillABx1yza, b32)J"},
    {"undefined behaviour",
     R"J([{{ nothing }}]{{ nothing|length }}{{ nothing is defined }}{% for x in nothing %}x{% endfor %}{{ nothing == none }}{{ nothing|default('d') }})J",
     R"J({})J", R"J([]0FalseFalsed)J"},
    {"unicode whitespace strip", R"J([{{ '　 text  '|trim }}][{{ 'a b'.split() }}])J", R"J({})J",
     R"J([text][['a', 'b']])J"},
    {"dict global and range",
     R"J({{ dict(a=1, b=2) }}{{ range(3)|list }}{{ range(1, 10, 3)|list }}{{ range(3, 0, -1)|list }})J", R"J({})J",
     R"J({'a': 1, 'b': 2}[0, 1, 2][1, 4, 7][3, 2, 1])J"},
    {"generation block", R"J({% generation %}assistant text{% endgeneration %})J", R"J({})J", R"J(assistant text)J"},
};

TEST(Jinja, RendersEachFeatureLikeJinja2) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    try {
      EXPECT_EQ(render(c.source, c.vars), c.expected);
    } catch (const glint::Error& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

TEST(Jinja, StrftimeNowFormatsTheLocalDate) {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char year[8];
  std::strftime(year, sizeof year, "%Y", &local);
  std::string out = render(R"({{ strftime_now("%d %b %Y") }})");
  ASSERT_EQ(out.size(), 11u) << out;  // "09 Jan 2025"
  EXPECT_EQ(out.substr(7), year);
}

TEST(Jinja, ErrorsNameLineAndColumn) {
  EXPECT_EQ(error_of("line one\n{{ x | wordwrap }}"),
            "[chat_template] line 2, column 8: unsupported filter 'wordwrap'");
  EXPECT_EQ(error_of("{{ 1 is prime }}"), "[chat_template] line 1, column 9: unsupported test 'prime'");
  EXPECT_EQ(error_of("ok\n  {% include 'x.html' %}"), "[chat_template] line 2, column 6: unsupported tag 'include'");
  EXPECT_EQ(
      error_of("{% if true %}\nno end"),
      "[chat_template] line 1, column 4: unexpected end of template: 'if' block was never closed (expected 'endif')");
  EXPECT_EQ(
      error_of("{{ 1 + }}"),
      "[chat_template] line 1, column 8: unexpected end of print statement '}}' where an expression was expected");
  EXPECT_EQ(error_of("{{ 'abc }}"), "[chat_template] line 1, column 4: unterminated string literal");
  EXPECT_EQ(error_of("{{ a $ b }}"), "[chat_template] line 1, column 6: unexpected character '$'");
  EXPECT_EQ(error_of("{# open"), "[chat_template] line 1, column 1: unclosed comment: '{#' has no matching '#}'");
  EXPECT_EQ(error_of("{% endfor %}"),
            "[chat_template] line 1, column 4: unexpected 'endfor' with no open block it could close");
  EXPECT_EQ(error_of("{% for x in y recursive %}{% endfor %}"),
            "[chat_template] line 1, column 15: unsupported recursive for loop");
  EXPECT_EQ(error_of("{% break %}"), "[chat_template] line 1, column 4: 'break' outside of a for loop");
}

TEST(Jinja, RuntimeErrorsLikeJinja2) {
  EXPECT_EQ(error_of("\n  {{ raise_exception('custom failure') }}"),
            "[chat_template] line 2, column 21: raise_exception: custom failure");
  EXPECT_EQ(error_of("{{ nothing.attr }}"), "[chat_template] line 1, column 11: 'nothing' is undefined");
  EXPECT_EQ(error_of("{{ 'a' + 1 }}"),
            "[chat_template] line 1, column 8: can only concatenate str (not \"int\") to str");
  EXPECT_EQ(error_of("{% for x in 5 %}{% endfor %}"),
            "[chat_template] line 1, column 13: 'int' object is not iterable");
  EXPECT_EQ(error_of("{{ 'abc'() }}"), "[chat_template] line 1, column 9: 'str' object is not callable");
  EXPECT_EQ(error_of("{{ 1 / 0 }}"), "[chat_template] line 1, column 6: division by zero");
  EXPECT_EQ(error_of("{{ 1 < 'a' }}"),
            "[chat_template] line 1, column 4: '<' not supported between instances of 'int' and 'str'");
  EXPECT_EQ(error_of("{% set x = 1 %}{% set x.y = 2 %}"),
            "[chat_template] line 1, column 19: cannot assign attribute on non-namespace object 'x'");
}

TEST(Jinja, HostileTemplatesFailCleanly) {
  std::string deep = std::string(500, '(') + "1" + std::string(500, ')');
  EXPECT_NE(error_of("{{ " + deep + " }}").find("nesting deeper than"), std::string::npos);
  EXPECT_NE(error_of("{{ " + std::string(500, '[') + " }}").find("has no matching"), std::string::npos);
  EXPECT_NE(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").find("macro calls nested deeper"),
            std::string::npos);
  EXPECT_NE(error_of("{{ range(10000000)|length }}").find("limited to"), std::string::npos);
  EXPECT_NE(error_of("{% set ns = namespace() %}{% set ns.me = [ns] %}").find("reference to itself"),
            std::string::npos);
  EXPECT_NE(error_of("{{ 'x' * 10000000000 }}").find("too large"), std::string::npos);
}

TEST(Jinja, UndefinedPrintsEmptyAndIsFalsy) {
  EXPECT_EQ(render("[{{ u }}]{% if u %}t{% else %}f{% endif %}{{ u|length }}{{ u is defined }}"), "[]f0False");
}

}  // namespace
