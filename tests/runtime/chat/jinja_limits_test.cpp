// Hostile chat templates: each input here once crashed, hung or exhausted the server (issue
// 16). Every one must now render correctly or fail its one render with Error(chat_template)
// naming the limit, and fast.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "runtime/chat/chat_template.hpp"
#include "runtime/chat/jinja_value.hpp"
#include "runtime/core/error.hpp"

namespace {

using nlohmann::ordered_json;
using tessera::runtime::ChatTemplate;
using tessera::runtime::RenderLimits;

const ordered_json kMessages = ordered_json::array({ordered_json{{"role", "user"}, {"content", "hi"}},
                                                    ordered_json{{"role", "assistant"}, {"content", "yo"}}});

// Each case takes well under a second in a release build; this bound, loose enough for a
// loaded two-core machine under sanitizers, catches what used to run for minutes or forever.
constexpr auto kFast = std::chrono::seconds(10);

std::string render(const std::string& source, const RenderLimits& limits = {}) {
  auto begin = std::chrono::steady_clock::now();
  std::string out = ChatTemplate(source, "<s>", "</s>", limits).render(kMessages, false, ordered_json::object());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, kFast) << source.substr(0, 200);
  return out;
}

// The message of the chat_template Error that rendering (or parsing) throws.
std::string error_of(const std::string& source, const RenderLimits& limits = {}) {
  auto begin = std::chrono::steady_clock::now();
  try {
    render(source, limits);
  } catch (const tessera::Error& e) {
    EXPECT_EQ(e.category(), tessera::ErrorCategory::chat_template);
    EXPECT_LT(std::chrono::steady_clock::now() - begin, kFast) << source.substr(0, 200);
    return e.what();
  }
  ADD_FAILURE() << "no error for: " << source.substr(0, 200);
  return "";
}

#define EXPECT_ERROR(source, needle)                                 \
  do {                                                               \
    std::string message_ = error_of(source);                         \
    EXPECT_NE(message_.find(needle), std::string::npos) << message_; \
  } while (0)

const std::string kInt64Max = "9223372036854775807";
const std::string kInt64Min = "(-9223372036854775807 - 1)";

TEST(JinjaLimits, SliceStepsNearInt64LimitsStayInBounds) {
  // Once read past the end (and segfaulted over messages).
  EXPECT_EQ(render("{{ [1, 2, 3][1::" + kInt64Max + "] }}"), "[2]");
  EXPECT_EQ(render("{{ messages[1::" + kInt64Max + "] | map(attribute='role') | list }}"), "['assistant']");
  EXPECT_EQ(render("{{ 'abc'[1::" + kInt64Max + "] }}"), "b");
  EXPECT_EQ(render("{{ [1, 2, 3][::" + kInt64Min + "] }}"), "[3]");
  EXPECT_EQ(render("{{ [1, 2, 3][" + kInt64Min + ":" + kInt64Max + "] }}"), "[1, 2, 3]");
  EXPECT_EQ(render("{{ [1, 2, 3][" + kInt64Max + ":" + kInt64Min + ":-1] }}"), "[3, 2, 1]");
  EXPECT_EQ(render("{{ 'h\u00e9llo'[" + kInt64Min + ":-1:" + kInt64Max + "] }}"), "h");
  EXPECT_EQ(render("{{ [1, 2, 3, 4, 5][-2:-6:-2] }} {{ 'abcdef'[::-2] }} {{ [1, 2][5:] }}"), "[4, 2] fdb []");
  EXPECT_ERROR("{{ [1][::0] }}", "step cannot be zero");
}

TEST(JinjaLimits, ConversionsFailAsTemplateErrors) {
  // std::stoul and std::stoll once threw out_of_range past every handler, aborting the server.
  EXPECT_ERROR("{{ '{99999999999999999999}'.format(1) }}", "out of range");
  // jinja2 reads an index past any sequence as undefined.
  EXPECT_EQ(render("{{ [[1]] | map(attribute='99999999999999999999') | select('defined') | list }}"), "[]");
  EXPECT_ERROR("{{ 1e300 | int }}", "overflow");
  EXPECT_ERROR("{{ '1e300' | int }}", "overflow");
  EXPECT_EQ(render("{{ 1.5 | round(" + kInt64Min + ") }} {{ 1.5 | round(" + kInt64Max + ", 'floor') }}"), "0.0 1.5");
  EXPECT_ERROR("{{ 99999999999999999999 }}", "out of range");
}

TEST(JinjaLimits, IntegerOverflowIsATemplateError) {
  EXPECT_EQ(render("{{ range(1, 10, " + kInt64Max + ") | list }}"), "[1]");
  EXPECT_EQ(render("{{ range(" + kInt64Min + ", " + kInt64Max + ", 4611686018427387904) | list | length }}"), "4");
  EXPECT_EQ(render("{{ range(" + kInt64Max + ", " + kInt64Min + ", " + kInt64Min + ") | list }}"), "[" + kInt64Max + ", -1]");
  EXPECT_EQ(render("{{ " + kInt64Min + " % 3 }} {{ " + kInt64Min + " % -1 }} {{ " + kInt64Min + " // 3 }}"),
            "1 0 -3074457345618258603");
  for (const std::string& e : {kInt64Max + " + 1", kInt64Min + " - 1", kInt64Max + " * 2", kInt64Min + " // -1",
                               "-" + kInt64Min, kInt64Min + " | abs", std::string("2 ** 63"), "[1, " + kInt64Max + "] | sum"})
    EXPECT_ERROR("{{ " + e + " }}", "integer overflow");
}

TEST(JinjaLimits, HugeResultsAreRefusedBeforeTheyAreBuilt) {
  // As reported, with the default limits: a 16-MB string shared by a million list items.
  EXPECT_ERROR("{{ ['a' * 16000000] * 1000000 }}", "max_string_bytes");
  EXPECT_ERROR("{{ [1] | batch(100000000000, 0) }}", "max_list_length");
  EXPECT_ERROR("{{ 'ab' * 1000000000 }}", "max_string_bytes");
  // The rest at a sixteenth of the default sizes, so the test stays fast: each result would be
  // hundreds of times the limit, or unbounded, if built before it is checked.
  RenderLimits small;
  small.max_string_bytes = 1 << 20;
  small.max_list_length = 60'000;
  auto refused = [&](const std::string& source, const std::string& limit) {
    std::string e = error_of(source, small);
    EXPECT_NE(e.find(limit), std::string::npos) << source << ": " << e;
  };
  refused("{{ '{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}'.format('a' * 1000000) }}", "max_string_bytes");
  refused("{{ ('a\\n' * 30000) | indent('x' * 1000) }}", "max_string_bytes");
  refused("{{ ('a' * 60000) | replace('a', 'b' * 1000) }}", "max_string_bytes");
  refused("{{ ('a' * 60000).replace('a', 'b' * 1000) }}", "max_string_bytes");
  refused("{{ ('a' * 60000).replace('', 'b' * 1000) }}", "max_string_bytes");
  refused("{{ [[[[[[1]]]]]] | tojson(indent='x' * 1000000) }}", "max_string_bytes");
  refused("{{ (['a' * 1000] * 2000) | join('b' * 1000) }}", "max_string_bytes");
  refused("{{ [1, 2] * 60000 }}", "max_list_length");
  refused("{{ ('a' * 100000) | list | length }}", "max_list_length");
  refused("{{ (',' * 100000).split(',') | length }}", "max_list_length");
  refused("{{ ('\\n' * 100000).splitlines() | length }}", "max_list_length");
  refused("{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
          "max_list_length");
  refused("{% set l = [] %}{% for i in range(70000) %}{% set _ = l.append(i) %}{% endfor %}", "max_list_length");
}

TEST(JinjaLimits, NoExponentialOrQuadraticWork) {
  // A list of itself doubled 40 times prints 2^40 items: stopped by the step budget (a step
  // per item printed) before the text reaches max_string_bytes. A tenth of the default budget
  // keeps the test fast.
  RenderLimits quick;
  quick.max_steps = 1'000'000;
  std::string e = error_of(
      "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}", quick);
  EXPECT_NE(e.find("max_steps"), std::string::npos) << e;
  // Comparing two such lists visits 2^40 pairs: stopped by the step budget too.
  e = error_of("{% set ns = namespace(a=[1], b=[1]) %}{% for i in range(40) %}"
               "{% set ns.a = [ns.a, ns.a] %}{% set ns.b = [ns.b, ns.b] %}{% endfor %}{{ ns.a == ns.b }}",
               quick);
  EXPECT_NE(e.find("max_steps"), std::string::npos) << e;
  // Splitting into lines is charged a step per line: indent on a text that grows in a loop did
  // quadratic work (a fuzzer input took 42 s under ASan) within a budget that charged bytes only.
  RenderLimits few;
  few.max_steps = 900;
  for (const char* lines : {"{{ ('a\\n' * 1000) | indent(2) }}", "{{ ('a\\n' * 1000).splitlines() | length }}"}) {
    e = error_of(lines, few);
    EXPECT_NE(e.find("max_steps"), std::string::npos) << lines << ": " << e;
  }
  // Each dict() merged into a linearly searched dict: cubic.
  EXPECT_EQ(render("{% set ns = namespace(d={}) %}{% for i in range(3000) %}{% set ns.d = dict(ns.d, {i: i}) %}"
                   "{% endfor %}{{ ns.d | length }} {{ ns.d[2999] }}"),
            "3000 2999");
  // rsplit split everything, then rejoined from the left one part at a time: quadratic.
  EXPECT_EQ(render("{{ (',' * 1000000).rsplit(',', 0) | length }}"), "1");
  EXPECT_EQ(render("{{ 'a,b,c'.rsplit(',', 1) }} {{ 'a b  c '.rsplit(none, 1) }} {{ ',a,'.rsplit(',') }}"),
            "['a,b', 'c'] ['a b', 'c'] ['', 'a', '']");
  // unique compared each item with every one kept: quadratic.
  EXPECT_EQ(render("{{ range(100000) | unique | list | length }} {{ [1, 1.0, true, 'A', 'a'] | unique | list }}"),
            "100000 [1, 'A']");
  // Indexing a string decoded all of it each time: O(length) per index.
  EXPECT_EQ(render("{% set s = 'ab' * 1000000 %}{% for i in range(100000) %}{{ s[i * 20] }}{% endfor %}"),
            std::string(100000, 'a'));
  EXPECT_EQ(render("{% set s = 'x\u00e9' * 1000000 %}{% for i in range(100000) %}{{ s[-1 - i * 20] }}{% endfor %}"
                   "{{ s[1:3] }}{{ s | length }}")
                .substr(199990),
            "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x2000000");
}

TEST(JinjaLimits, NamespaceCyclesDoNotLeak) {
  std::int64_t before = tessera::runtime::jinja::live_containers();
  EXPECT_EQ(render("{% set ns = namespace() %}{% set ns.me = [ns] %}{{ ns.me }}"), "[<Namespace>]");
  EXPECT_EQ(render("{% set ns = namespace() %}{% set l = [] %}{% set _ = l.append(ns) %}{% set ns.l = l %}"
                   "{% set ns.self = ns %}ok"),
            "ok");
  error_of("{% set ns = namespace() %}{% set ns.me = [ns] %}{{ raise_exception('fails midway') }}");
  EXPECT_EQ(tessera::runtime::jinja::live_containers(), before);
}

TEST(JinjaLimits, EachLimitNamesItself) {
  RenderLimits limits;
  limits.max_steps = 10'000;
  std::string e = error_of("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", limits);
  EXPECT_NE(e.find("budget of 10,000 steps (max_steps)"), std::string::npos) << e;

  limits = {};
  limits.max_depth = 50;
  e = error_of("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}", limits);
  EXPECT_NE(e.find("50 nested evaluations (max_depth)"), std::string::npos) << e;

  limits = {};
  limits.max_output_bytes = 1000;
  e = error_of("{% for i in range(1000) %}xx{% endfor %}", limits);
  EXPECT_NE(e.find("1,000 bytes (max_output_bytes)"), std::string::npos) << e;
  e = error_of("{% set x %}{% for i in range(1000) %}xx{% endfor %}{% endset %}", limits);
  EXPECT_NE(e.find("max_output_bytes"), std::string::npos) << e;

  limits = {};
  limits.max_range_length = 10;
  e = error_of("{{ range(11) | list }}", limits);
  EXPECT_NE(e.find("range too big: 11 items, over the chat template limit of 10 (max_range_length)"), std::string::npos)
      << e;

  limits = {};
  limits.max_string_bytes = 100;
  e = error_of("{{ 'a' * 101 }}", limits);
  EXPECT_NE(e.find("100 bytes (max_string_bytes)"), std::string::npos) << e;

  limits = {};
  limits.max_list_length = 100;
  e = error_of("{{ [1] * 101 }}", limits);
  EXPECT_NE(e.find("100 items (max_list_length)"), std::string::npos) << e;

  limits = {};
  limits.max_value_bytes = 1 << 20;
  e = error_of("{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% set _ = ns.l.append('x' * 10000 ~ i) %}"
               "{% endfor %}",
               limits);
  EXPECT_NE(e.find("1,048,576 bytes (max_value_bytes)"), std::string::npos) << e;
  // Only what is held counts: the same strings made and dropped one at a time pass.
  EXPECT_EQ(render("{% for i in range(1000) %}{% set x = 'x' * 10000 ~ i %}{% endfor %}ok", limits), "ok");

  limits = {};
  limits.max_source_nesting = 20;
  e = error_of("{{ " + std::string(30, '[') + std::string(30, ']') + " }}", limits);
  EXPECT_NE(e.find("max_source_nesting"), std::string::npos) << e;

  // Limits can change between renders, and apply to later ones.
  ChatTemplate t("{{ range(20) | length }}", "", "");
  EXPECT_EQ(t.render(kMessages, false, ordered_json::object()), "20");
  limits = {};
  limits.max_range_length = 10;
  t.set_limits(limits);
  EXPECT_THROW(t.render(kMessages, false, ordered_json::object()), tessera::Error);
}

TEST(JinjaLimits, DeepTemplateSourceIsRefused) {
  const int kDeep = 20000;  // far past the limit, and deep enough to overflow an unguarded stack
  auto nested = [&](const std::string& open, const std::string& close) {
    std::string s;
    for (int i = 0; i < kDeep; ++i) s += open;
    s += "1";
    for (int i = 0; i < kDeep; ++i) s += close;
    return s;
  };
  for (const std::string& source :
       {"{{ " + nested("(", ")") + " }}", "{{ " + nested("[", "]") + " }}", "{{ " + nested("{'k': ", "}") + " }}",
        "{{ " + nested("-", "") + " }}", "{{ " + nested("not ", "") + " }}", "{{ " + nested("f(", ")") + " }}",
        "{{ " + nested("x[", "]") + " }}", "{{ " + nested("1 if ", " else 2") + " }}",
        nested("{% if 1 %}", "{% endif %}"), nested("{% for i in [1] %}", "{% endfor %}")})
    EXPECT_ERROR(source, "(max_source_nesting)");
  std::string chain = "{{ 1";
  for (int i = 0; i < kDeep; ++i) chain += " + 1";
  EXPECT_ERROR(chain + " }}", "expression too long");
  std::string filters = "{{ 1";
  for (int i = 0; i < kDeep; ++i) filters += " | abs";
  EXPECT_ERROR(filters + " }}", "expression too long");
  std::string attributes = "{{ x";
  for (int i = 0; i < kDeep; ++i) attributes += ".a";
  EXPECT_ERROR(attributes + " }}", "expression too long");
}

}  // namespace
