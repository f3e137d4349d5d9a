// Interpreter unit tests. Expected outputs are worked out by hand from jinja2's documented
// semantics with HF's settings (trim_blocks, lstrip_blocks, loop controls).
#include <gtest/gtest.h>

#include <string>

#include "runtime/chat/chat_template.hpp"
#include "runtime/chat/jinja_value.hpp"
#include "runtime/core/error.hpp"

namespace {

using nlohmann::ordered_json;
using tessera::runtime::ChatTemplate;

const ordered_json kNoMessages = ordered_json::array();

std::string render(const std::string& source, const ordered_json& vars = ordered_json::object()) {
  return ChatTemplate(source, "<s>", "</s>").render(kNoMessages, false, vars);
}

// The message of the Error that rendering (or parsing) throws; fails the test if none is thrown.
std::string error_of(const std::string& source, const ordered_json& vars = ordered_json::object()) {
  try {
    render(source, vars);
  } catch (const tessera::Error& e) {
    EXPECT_EQ(e.category(), tessera::ErrorCategory::chat_template);
    return e.what();
  }
  ADD_FAILURE() << "no error for: " << source;
  return "";
}

TEST(Jinja, TextAndOutput) {
  EXPECT_EQ(render("plain text"), "plain text");
  EXPECT_EQ(render("{{ 'a' }}{{ \"b\" }}{{ 1 }}{{ 1.0 }}{{ 2.50 }}"), "ab11.02.5");
  EXPECT_EQ(render("{{ true }} {{ false }} {{ none }} {{ True }} {{ None }}"), "True False None True None");
  EXPECT_EQ(render("{{ [1, 'a', none, true, 1.5] }}"), "[1, 'a', None, True, 1.5]");
  EXPECT_EQ(render("{{ {'k': 'v', 'n': [1]} }}"), "{'k': 'v', 'n': [1]}");
  EXPECT_EQ(render("{{ (1,) }} {{ (1, 2) }} {{ () }}"), "(1,) (1, 2) ()");
  EXPECT_EQ(render("{{ \"it's\" }} {{ [\"it's\", 'q\"'] }}"), "it's [\"it's\", 'q\"']");
  EXPECT_EQ(render("{{ 'a\\nb\\t\\u00e9\\x41' }}"),
            "a\nb\t\xc3\xa9"
            "A");
  EXPECT_EQ(render("{{ 'con' 'cat' }}"), "concat");
  EXPECT_EQ(render("{{ undefined_name }}|{{ bos_token }}{{ eos_token }}"), "|<s></s>");
}

TEST(Jinja, NumbersPrintLikePython) {
  EXPECT_EQ(render("{{ 1e16 }} {{ 1e15 }} {{ 1e-5 }} {{ 0.0001 }} {{ 0.1 + 0.2 }} {{ -0.0 }}"),
            "1e+16 1000000000000000.0 1e-05 0.0001 0.30000000000000004 -0.0");
  EXPECT_EQ(render("{{ 7 / 2 }} {{ 4 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }}"),
            "3.5 2.0 3 -4 2 -2");
  EXPECT_EQ(render("{{ 2 ** 10 }} {{ 2 ** -1 }} {{ -2 ** 2 }} {{ 2 * 3 + 1 }} {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }}"),
            "1024 0.5 4 7 7 9");
  EXPECT_EQ(render("{{ 7.5 // 2 }} {{ 7.5 % 2 }} {{ true + 1 }} {{ 1 == 1.0 }} {{ '1' == 1 }}"),
            "3.0 1.5 2 True False");
}

TEST(Jinja, WhitespaceControl) {
  EXPECT_EQ(render("a  {{- 'b' -}}  c"), "abc");
  EXPECT_EQ(render("a\n  {%- if true -%}\n  b  \n  {%- endif -%}\n  c"), "abc");
  EXPECT_EQ(render("{# comment #}x{#- trimmed -#}   y"), "xy");
  // trim_blocks drops the first newline after a block tag; lstrip_blocks drops indentation before it.
  EXPECT_EQ(render("{% if true %}\n  yes\n{% endif %}\n"), "  yes\n");
  EXPECT_EQ(render("  {% if true %}\nx\n  {% endif %}\ny"), "x\ny");
  // Only block tags alone at a line start are stripped; variable tags keep their newline.
  EXPECT_EQ(render("a  {% if true %}b{% endif %}\n{{ 'c' }}\nd"), "a  bc\nd");
  EXPECT_EQ(render("  {%+ if true %}x{% endif %}"), "  x");
  EXPECT_EQ(render("{% raw %}{{ not a tag }}{% endraw %}"), "{{ not a tag }}");
}

TEST(Jinja, IfElifElse) {
  const std::string t = "{% if x > 2 %}big{% elif x == 2 %}two{% else %}small{% endif %}";
  EXPECT_EQ(render(t, {{"x", 3}}), "big");
  EXPECT_EQ(render(t, {{"x", 2}}), "two");
  EXPECT_EQ(render(t, {{"x", 1}}), "small");
  EXPECT_EQ(render("{{ 'y' if 0 else 'n' }}{{ 'never' if false }}"), "n");
  EXPECT_EQ(render("{{ 1 and 'x' }} {{ 0 or 'y' }} {{ not none }} {{ [] or {} or 'z' }}"), "x y True z");
}

TEST(Jinja, ForLoopVariables) {
  EXPECT_EQ(
      render("{% for x in ['a', 'b', 'c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
             "{{ loop.length }}{{ x }}{{ '^' if loop.first }}{{ '$' if loop.last }};{% endfor %}"),
      "10323a^;21213b;32103c$;");
  EXPECT_EQ(
      render(
          "{% for x in [1, 2, 3] %}{{ loop.previtem | default('-') }}{{ loop.nextitem | default('-') }} {% endfor %}"),
      "-2 13 2- ");
  EXPECT_EQ(render("{% for x in [1, 2, 3] %}{{ loop.cycle('o', 'e') }}{% endfor %}"), "oeo");
  EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}/{{ loop.length }} {% endfor %}"), "2/2 4/2 ");
  EXPECT_EQ(render("{% for k, v in {'b': 1, 'a': 2}.items() %}{{ k }}={{ v }} {% endfor %}"), "b=1 a=2 ");
  EXPECT_EQ(render("{% for k in {'z': 1, 'y': 2} %}{{ k }}{% endfor %}{% for c in 'hé' %}[{{ c }}]{% endfor %}"),
            "zy[h][\xc3\xa9]");
  EXPECT_EQ(render("{% for x in [3, 1, 2] | sort %}{{ x }}{% endfor %}"), "123");
  EXPECT_EQ(render("{% for x in undefined_list %}x{% endfor %}"), "");
  EXPECT_EQ(
      render("{% for i in range(10) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}"
             "{{ i }}{% endfor %}"),
      "023");
}

TEST(Jinja, ScopingAndNamespace) {
  // Assignments inside a loop body do not leak out, nor carry over between iterations.
  EXPECT_EQ(render("{% set x = 0 %}{% for i in range(3) %}{% set x = x + 1 %}{{ x }}{% endfor %}{{ x }}"), "1110");
  EXPECT_EQ(render("{% set ns = namespace(n=0, s='') %}{% for i in range(3) %}{% set ns.n = ns.n + i %}"
                   "{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.n }} {{ ns.s }}"),
            "3 012");
  EXPECT_EQ(render("{% if true %}{% set y = 5 %}{% endif %}{{ y }}"), "5");
  EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ b }}{{ a }}{% set t = 1, 2 %}{{ t }}"), "21(1, 2)");
  EXPECT_EQ(render("{% set block %}  inner {{ 1 + 1 }}{% endset %}[{{ block }}]"), "[  inner 2]");
  EXPECT_EQ(render("{% filter upper %}shout {{ 'it' }}{% endfilter %}"), "SHOUT IT");
}

TEST(Jinja, MacrosAndCall) {
  EXPECT_EQ(render("{% macro tag(name, body='') %}<{{ name }}>{{ body }}</{{ name }}>{% endmacro %}"
                   "{{ tag('b') }}{{ tag('i', 'x') }}{{ tag(body='y', name='u') }}"),
            "<b></b><i>x</i><u>y</u>");
  EXPECT_EQ(render("{% macro wrap(t) %}[{{ t }}:{{ caller() }}]{% endmacro %}{% call wrap('w') %}inside{% endcall %}"),
            "[w:inside]");
  EXPECT_EQ(render("{% set g = 'global' %}{% macro m() %}{{ g }}{% endmacro %}{{ m() }}"), "global");
  EXPECT_EQ(render("{% generation %}kept{% endgeneration %}"), "kept");
}

TEST(Jinja, AttributesSubscriptsAndSlices) {
  ordered_json vars = {{"d", {{"role", "user"}, {"n", {1, 2, 3}}}}, {"s", "h\xc3\xa9llo"}};
  EXPECT_EQ(
      render("{{ d.role }} {{ d['role'] }} {{ d.n[0] }} {{ d.n[-1] }} {{ d.n.1 }} [{{ d.missing }}] [{{ d.n[9] }}]",
             vars),
      "user user 1 3 2 [] []");
  EXPECT_EQ(render("{{ d.n[1:] }} {{ d.n[:-1] }} {{ d.n[::-1] }} {{ d.n[::2] }} {{ d.n[-2:] }} {{ d.n[5:] }}", vars),
            "[2, 3] [1, 2] [3, 2, 1] [1, 3] [2, 3] []");
  EXPECT_EQ(render("{{ s[1] }} {{ s[1:3] }} {{ s[::-1] }} {{ s | length }}", vars),
            "\xc3\xa9 \xc3\xa9l oll\xc3\xa9h 5");
}

TEST(Jinja, Tests) {
  EXPECT_EQ(
      render("{{ x is defined }} {{ x is undefined }} {{ none is none }} {{ 'a' is string }} {{ 1 is number }}"
             " {{ 1.5 is integer }} {{ 1 is integer }} {{ {} is mapping }} {{ [] is iterable }} {{ 'a' is sequence }}"),
      "False True True True True False True True True True");
  EXPECT_EQ(render("{{ true is boolean }} {{ true is true }} {{ 0 is false }} {{ 3 is odd }} {{ 4 is even }}"
                   " {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }} {{ 'a' is not string }} {{ 1 is eq 1 }}"),
            "True True False True True True False False True");
  EXPECT_EQ(render("{{ 1 in [1, 2] }} {{ 3 not in [1, 2] }} {{ 'b' in 'abc' }} {{ 'k' in {'k': 1} }} {{ 1 < 2 < 3 }} "
                   "{{ 3 > 2 > 2 }}"),
            "True True True True True False");
}

TEST(Jinja, StringFilters) {
  EXPECT_EQ(render("{{ '  x  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'aBc' | upper }}{{ 'aBc' | lower }}"
                   "|{{ 'hello wORLD' | capitalize }}|{{ 'hello world-wide(x' | title }}"),
            "x|hi|ABCabc|Hello world|Hello World-Wide(X");
  EXPECT_EQ(render("{{ 'aaa' | replace('a', 'b') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ '<a href=\"x\">&\\'' | e }}"),
            "bbb bba &lt;a href=&#34;x&#34;&gt;&amp;&#39;");
  EXPECT_EQ(
      render(
          "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent(1, blank=true) }}"),
      "a\n  b\n\n  c|  a\n  b|a\n \n b");
  EXPECT_EQ(render("{{ 42 | string }} {{ 'x' | safe }} {{ 'one two  three' | wordcount }} {{ 'ab' | reverse }}"),
            "42 x 3 ba");
}

TEST(Jinja, ListFilters) {
  EXPECT_EQ(render("{{ [1, 2, 3] | length }} {{ [1, 2] | count }} {{ [1, 2] | join('-') }} {{ [1, 2] | first }}"
                   "{{ [1, 2] | last }} [{{ [] | first }}] {{ 'ab' | list }} {{ [3, 1, 2] | sort(reverse=true) }}"),
            "3 2 1-2 12 [] ['a', 'b'] [3, 2, 1]");
  EXPECT_EQ(
      render(
          "{{ ['b', 'A', 'a', 'B'] | unique | list }} {{ ['b', 'A', 'c'] | sort }} {{ [1, 2, 3] | reverse | list }}"),
      "['b', 'A'] ['A', 'b', 'c'] [3, 2, 1]");
  ordered_json vars = {{"people", {{{"name", "Bo"}, {"age", 30}}, {{"name", "Al"}, {"age", 20}}, {{"name", "Cy"}}}}};
  EXPECT_EQ(
      render(
          "{{ people | map(attribute='name') | join(',') }} {{ people | selectattr('age', 'defined') | list | length }}"
          " {{ people | rejectattr('age') | map(attribute='name') | list }}"
          " {{ people | selectattr('age', 'defined') | selectattr('age', 'gt', 25) | map(attribute='name') | first }}"
          " {{ people | map(attribute='age', default=0) | list }}"
          " {{ people | sort(attribute='name') | map(attribute='name') | join }}",
          vars),
      "Bo,Al,Cy 2 ['Cy'] Bo [30, 20, 0] AlBoCy");
  EXPECT_EQ(render("{{ [1, 2, 3, 4] | select('odd') | list }} {{ [0, 1, '', 'a'] | select | list }} {{ [1, 2, 3] | "
                   "reject('even') | list }}"
                   " {{ ['a', 'bb'] | map('length') | list }} {{ ['a', 'b'] | map('upper') | join }}"),
            "[1, 3] [1, 'a'] [1, 3] [1, 2] AB");
  EXPECT_EQ(render("{{ [1, 2, 3, 4, 5] | batch(2) | list }} {{ [1, 2, 3] | batch(2, 0) | list }} {{ [1, 2, 3] | sum }} "
                   "{{ [3, 1] | min }}"),
            "[[1, 2], [3, 4], [5]] [[1, 2], [3, 0]] 6 1");
}

TEST(Jinja, DictFiltersAndMethods) {
  ordered_json vars = {{"d", {{"b", 1}, {"a", 2}}}};
  EXPECT_EQ(
      render("{{ d | items | list }} {{ d | dictsort }} {{ d | dictsort(by='value', reverse=true) }} {{ d | length }}",
             vars),
      "[('b', 1), ('a', 2)] [('a', 2), ('b', 1)] [('a', 2), ('b', 1)] 2");
  EXPECT_EQ(
      render("{{ d.keys() | list }} {{ d.values() | list }} {{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 9) }}",
             vars),
      "['b', 'a'] [1, 2] 2 None 9");
  EXPECT_EQ(render("{% set l = [1] %}{% set _ = l.append(2) %}{{ l }}"), "[1, 2]");
}

TEST(Jinja, ConversionFilters) {
  EXPECT_EQ(
      render("{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.9 | int }} {{ '2.5' | float }}"
             " {{ 'x' | float }} {{ 3 | float }}"),
      "42 4 0 7 3 2.5 0.0 3.0");
  EXPECT_EQ(
      render("{{ 2.5 | round }} {{ 3.5 | round }} {{ 2.675 | round(2) }} {{ 2.1 | round(0, 'ceil') }} {{ 7 | round }}"
             " {{ -3 | abs }} {{ -2.5 | abs }}"),
      "2.0 4.0 2.67 3.0 7 3 2.5");
  EXPECT_EQ(
      render("{{ none | default('d') }} {{ nope | default('d') }} {{ '' | default('d', true) }} {{ nope | d('z') }}"),
      "None d d z");
}

TEST(Jinja, ToJson) {
  ordered_json vars = {{"v", {{"b", {1, 2.5, true, nullptr}}, {"a", "\xc3\xa9\n\"<>&"}}}};
  EXPECT_EQ(render("{{ v | tojson }}", vars), "{\"b\": [1, 2.5, true, null], \"a\": \"\xc3\xa9\\n\\\"<>&\"}");
  EXPECT_EQ(render("{{ v | tojson(indent=2) }}", vars),
            "{\n  \"b\": [\n    1,\n    2.5,\n    true,\n    null\n  ],\n  \"a\": \"\xc3\xa9\\n\\\"<>&\"\n}");
  EXPECT_EQ(render("{{ v | tojson(sort_keys=true, separators=(',', ':')) }}", vars),
            "{\"a\":\"\xc3\xa9\\n\\\"<>&\",\"b\":[1,2.5,true,null]}");
  EXPECT_EQ(render("{{ 'é😀' | tojson(ensure_ascii=true) }} {{ [] | tojson }} {{ {} | tojson(indent=2) }}"),
            "\"\\u00e9\\ud83d\\ude00\" [] {}");
}

TEST(Jinja, StringMethods) {
  EXPECT_EQ(
      render("[{{ '  a b  '.strip() }}][{{ 'xxa'.lstrip('x') }}][{{ 'a\\n\\n'.rstrip('\\n') }}][{{ ' a '.lstrip() }}]"),
      "[a b][a][a][a ]");
  EXPECT_EQ(
      render(
          "{{ 'a,b,,c'.split(',') }} {{ '  a  b '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a/b/c'.rsplit('/', 1) }}"),
      "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b,c'] ['a/b', 'c']");
  EXPECT_EQ(render("{{ 'abc'.startswith('ab') }} {{ 'abc'.startswith(('x', 'a')) }} {{ 'abc'.endswith('bc') }} {{ "
                   "'abc'.endswith(('x',)) }}"),
            "True True True False");
  EXPECT_EQ(render("{{ 'aB'.upper() }}{{ 'aB'.lower() }} {{ 'hello world'.title() }} {{ 'hELLO'.capitalize() }}"
                   " {{ 'banana'.replace('a', 'o') }} {{ 'banana'.find('n') }} {{ 'banana'.find('z') }} {{ "
                   "'-'.join(['a', 'b']) }}"),
            "ABab Hello World Hello bonono 2 -1 a-b");
  EXPECT_EQ(render("{{ '{} and {}'.format(1, 'x') }} {{ '{0}{0}'.format('y') }} {{ '{n}!'.format(n=3) }}"),
            "1 and x yy 3!");
}

TEST(Jinja, Globals) {
  EXPECT_EQ(render("{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(3, 0, -1) | list }}"),
            "[0, 1, 2] [1, 3, 5] [3, 2, 1]");
  EXPECT_EQ(render("{{ dict(a=1, b='x') }} {{ namespace(a=1).a }}"), "{'a': 1, 'b': 'x'} 1");
  EXPECT_EQ(render("{{ strftime_now('%Y') | length }}"), "4");
  // HF always passes tools and documents (None when absent).
  EXPECT_EQ(render("{{ tools is defined }} {{ tools is none }} {{ documents }}"), "True True None");
  EXPECT_EQ(render("{{ tools | length }}", {{"tools", {1, 2}}}), "2");
}

TEST(Jinja, ChatVariables) {
  ChatTemplate t(
      "{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}{{ add_generation_prompt }}"
      "{{ enable_thinking }}",
      "B", "E");
  ordered_json messages = {{{"role", "user"}, {"content", "{{ not a tag }}"}},
                           {{"role", "assistant"}, {"content", "ok"}}};
  EXPECT_EQ(t.render(messages, true, {{"enable_thinking", false}}), "user:{{ not a tag }};assistant:ok;TrueFalse");
  // The nlohmann::json overload gives the same result.
  EXPECT_EQ(t.render(nlohmann::json::parse(messages.dump()), false), "user:{{ not a tag }};assistant:ok;False");
}

TEST(Jinja, RaiseException) {
  std::string e = error_of("line one\n{% if true %}{{ raise_exception('Roles must alternate!') }}{% endif %}");
  EXPECT_NE(e.find("Roles must alternate!"), std::string::npos) << e;
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
}

TEST(Jinja, SyntaxErrorsNameLineAndColumn) {
  EXPECT_NE(error_of("ok\n{% for x in %}").find("line 2, column 13"), std::string::npos);
  EXPECT_NE(error_of("a\nb\n{% if x %}never closed").find("line 3"), std::string::npos);
  std::string unsupported = error_of("\n\n  {% include 'other.html' %}");
  EXPECT_NE(unsupported.find("include"), std::string::npos) << unsupported;
  EXPECT_NE(unsupported.find("line 3"), std::string::npos) << unsupported;
  EXPECT_NE(error_of("{% for x in y recursive %}{% endfor %}").find("recursive"), std::string::npos);
  EXPECT_NE(error_of("{{ 'unterminated }}").find("unterminated string"), std::string::npos);
  EXPECT_NE(error_of("{{ 1 + }}").find("expected an expression"), std::string::npos);
  EXPECT_NE(error_of("{% endif %}").find("unexpected 'endif'"), std::string::npos);
  EXPECT_NE(error_of("{{ a ? b }}").find("unexpected character '?'"), std::string::npos);
  EXPECT_NE(error_of("{# never closed").find("unclosed comment"), std::string::npos);
}

TEST(Jinja, RuntimeErrorsNameLine) {
  std::string e = error_of("\n{{ undefined_thing.attr }}");
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  EXPECT_NE(e.find("'undefined_thing' is undefined"), std::string::npos) << e;
  EXPECT_NE(error_of("{{ 'a' + 1 }}").find("can only concatenate str"), std::string::npos);
  EXPECT_NE(error_of("{{ 1 // 0 }}").find("by zero"), std::string::npos);
  EXPECT_NE(error_of("{{ x | no_such_filter }}").find("no_such_filter"), std::string::npos);
  EXPECT_NE(error_of("{{ 1 is no_such_test }}").find("no_such_test"), std::string::npos);
  EXPECT_NE(error_of("{{ none() }}").find("not callable"), std::string::npos);
  EXPECT_NE(error_of("{% set a, b = [1] %}").find("not enough values to unpack"), std::string::npos);
  EXPECT_NE(error_of("{% set x = 1 %}{% set x.y = 2 %}").find("non-namespace"), std::string::npos);
}

TEST(Jinja, HostileTemplatesFailCleanly) {
  EXPECT_NE(error_of("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}").find("nested too deeply"),
            std::string::npos);
  std::string nested_ifs;
  for (int i = 0; i < 2000; ++i) nested_ifs += "{% if 1 %}";
  EXPECT_NE(error_of(nested_ifs).find("nested too deeply"), std::string::npos);
  EXPECT_NE(error_of("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}").find("too deep"), std::string::npos);
  EXPECT_NE(error_of("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}").find("budget"),
            std::string::npos);
  EXPECT_NE(error_of("{{ range(1000000) | length }}").find("range too big"), std::string::npos);
  EXPECT_NE(error_of("{{ 'ab' * 1000000000 }}").find("too large"), std::string::npos);
  EXPECT_NE(error_of("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}")
                .find("too large"),
            std::string::npos);
  EXPECT_NE(error_of("{{ 2 ** 100 }}").find("overflow"), std::string::npos);
  EXPECT_NE(error_of("{{ [1][::0] }}").find("step cannot be zero"), std::string::npos);
}

TEST(Jinja, DeeplyNestedValuesFailCleanly) {
  // Building a 100000-deep list is allowed; printing it is refused, and dropping it must not
  // overflow the stack.
  const std::string build =
      "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}";
  EXPECT_EQ(render(build + "ok"), "ok");
  EXPECT_NE(error_of(build + "{{ ns.x }}").find("nested too deeply"), std::string::npos);
  EXPECT_NE(error_of(build + "{{ ns.x == ns.x }}").find("nested too deeply"), std::string::npos);
  // Reference cycles are refused: they would leak and print forever.
  EXPECT_NE(error_of("{% set l = [1] %}{% set _ = l.append(l) %}").find("itself"), std::string::npos);
  EXPECT_NE(error_of("{% set l = [1] %}{% set m = [l] %}{% set _ = l.append(m) %}").find("itself"), std::string::npos);
  // A namespace holding itself is not refused (checking every assignment would cost too much);
  // namespaces print without their contents, and the render empties them when it ends, so the
  // cycle is not leaked.
  std::int64_t live = tessera::runtime::jinja::live_containers();
  EXPECT_EQ(render("{% set ns = namespace() %}{% set ns.me = [ns] %}{{ ns.me }}"), "[<Namespace>]");
  EXPECT_EQ(tessera::runtime::jinja::live_containers(), live);

  ordered_json deep = ordered_json::array();
  for (int i = 0; i < 100000; ++i) {
    ordered_json outer = ordered_json::array();
    outer.push_back(std::move(deep));
    deep = std::move(outer);
  }
  ChatTemplate t("{{ messages | length }}", "", "");
  try {
    // Moved, not copied: nlohmann's copy recurses, which a 100000-deep value would overflow.
    ordered_json message = ordered_json::object();
    message["role"] = "user";
    message["content"] = std::move(deep);
    ordered_json messages = ordered_json::array();
    messages.push_back(std::move(message));
    t.render(messages, false, ordered_json::object());
    ADD_FAILURE() << "deeply nested message accepted";
  } catch (const tessera::Error& e) {
    EXPECT_NE(std::string(e.what()).find("nested too deeply"), std::string::npos) << e.what();
  }
}

}  // namespace
