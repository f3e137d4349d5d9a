#pragma once
// Writes a chat template from fuzzer-chosen bytes: a small program generator for the
// constructs that make a template's work or output grow (loops over large ranges, namespace
// values doubled in a loop, repeated strings, recursive macros, filters and methods given
// integer-boundary arguments, slices with extreme steps). Mutating template text rarely builds
// these: each needs several matching pieces (a namespace, a loop, a set inside it, an output).
//
// Expressions are typed (string, list, integer, dict), so that most programs parse and render
// past their first statement: the first error ends a render, and a program that fails at once
// tests nothing.
#include <cstddef>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_support.hpp"

namespace tessera::fuzz {

class TemplateWriter {
 public:
  explicit TemplateWriter(FuzzedDataProvider& in) : in_(in) {}

  // Statements until the input runs out (or a size cap), after a namespace they all may use.
  std::string program() {
    std::string out = "{%- set ns = namespace(l=[1, 'a'], s='ab', d={}, n=1) -%}";
    while (in_.remaining_bytes() > 0 && out.size() < 4096) out += statement(0);
    return out;
  }

 private:
  template <std::size_t N>
  const char* one_of(const char* const (&choices)[N]) {
    return choices[in_.ConsumeIntegralInRange<std::size_t>(0, N - 1)];
  }
  bool deep(int depth) const { return depth > 3; }

  // Mostly small integers, so that programs run; one in four at a boundary.
  std::string integer(int depth) {
    switch (in_.ConsumeIntegralInRange(0, 7)) {
      case 0: case 1: return pick_number(in_);
      case 2: if (!int_vars_.empty()) return int_vars_[in_.ConsumeIntegralInRange<std::size_t>(0, int_vars_.size() - 1)];
        [[fallthrough]];
      case 3: return "ns.n";
      case 4: if (!deep(depth)) return "(" + list(depth + 1) + "|length)";
        [[fallthrough]];
      case 5: if (!deep(depth)) return "(" + integer(depth + 1) + one_of({" * ", " + ", " ** ", " // ", " - "}) + integer(depth + 1) + ")";
        [[fallthrough]];
      default: return std::to_string(in_.ConsumeIntegralInRange(-2, 50));
    }
  }
  std::string count() {
    if (in_.ConsumeIntegralInRange(0, 3) == 0) return pick_number(in_);
    return one_of({"0", "1", "3", "10", "40", "64", "100", "3000", "100000"});
  }
  std::string slice(int depth) {
    return "[" + integer(depth + 1) + ":" + integer(depth + 1) + ":" + integer(depth + 1) + "]";
  }

  std::string string(int depth) {
    if (deep(depth)) return one_of({"'a'", "ns.s", "'{0}'"});
    switch (in_.ConsumeIntegralInRange(0, 17)) {
      case 0: return one_of({"'a'", "'ab'", "','", "' '", "''", "'x\\ny'", "'<|im_start|>'", "'\xc3\xa9'"});
      case 1: return "ns.s";
      case 2: return "messages[-1]['content']";
      case 3: return "(" + string(depth + 1) + " * " + integer(depth + 1) + ")";
      case 4: return "(" + string(depth + 1) + " ~ " + string(depth + 1) + ")";
      case 5: return string(depth + 1) + ".replace('a', 'aa', " + integer(depth + 1) + ")";
      case 6: return string(depth + 1) + ".center(" + integer(depth + 1) + ")";
      case 7: return "(" + string(depth + 1) + "|indent(" + integer(depth + 1) + "))";
      case 8: return "'{" + pick_number(in_) + "}'.format(" + string(depth + 1) + ")";
      case 9: return "(" + list(depth + 1) + "|join(" + string(depth + 1) + "))";
      case 10: return "(" + list(depth + 1) + "|tojson(indent=" + integer(depth + 1) + "))";
      case 11: return string(depth + 1) + slice(depth);
      case 12: return "(" + string(depth + 1) + "|truncate(" + integer(depth + 1) + "))";
      case 13: return "(" + integer(depth + 1) + "|string)";
      case 14: return "(" + string(depth + 1) + "|replace('a', " + string(depth + 1) + ", " + integer(depth + 1) + "))";
      case 15: return string(depth + 1) + "[" + integer(depth + 1) + "]";
      case 16: return "(" + dict(depth + 1) + "|tojson)";
      default: return "(" + string(depth + 1) + "|format(" + integer(depth + 1) + "))";
    }
  }

  std::string list(int depth) {
    if (deep(depth)) return one_of({"[1]", "ns.l", "messages"});
    switch (in_.ConsumeIntegralInRange(0, 17)) {
      case 0: return "[" + integer(depth + 1) + ", " + string(depth + 1) + "]";
      case 1: return "ns.l";
      case 2: return "messages";
      case 3: return "range(" + count() + ")";
      case 4: return "(range(" + integer(depth + 1) + ", " + integer(depth + 1) + ", " + integer(depth + 1) + ")|list)";
      case 5: return "(" + list(depth + 1) + " + " + list(depth + 1) + ")";
      case 6: return "(" + list(depth + 1) + " * " + integer(depth + 1) + ")";
      case 7: return list(depth + 1) + slice(depth);
      case 8: return "(" + list(depth + 1) + "|batch(" + integer(depth + 1) + ", 0)|list)";
      case 9: return "(" + list(depth + 1) + "|unique|list)";
      case 10: return "([[1], [2, 3]]|map(attribute='" + pick_number(in_) + "')|list)";
      case 11: return "(" + list(depth + 1) + "|sort|list)";
      case 12: return string(depth + 1) + ".split(" + string(depth + 1) + ", " + integer(depth + 1) + ")";
      case 13: return string(depth + 1) + ".rsplit(" + string(depth + 1) + ", " + integer(depth + 1) + ")";
      case 14: return "(" + dict(depth + 1) + "|items|list)";
      case 15: return "(" + list(depth + 1) + "|reverse|list)";
      case 16: return "(" + list(depth + 1) + "|map('string')|list)";
      default: return "[" + list(depth + 1) + "]";
    }
  }

  std::string dict(int depth) {
    if (deep(depth)) return one_of({"{}", "ns.d"});
    switch (in_.ConsumeIntegralInRange(0, 4)) {
      case 0: return "{}";
      case 1: return "ns.d";
      case 2: return "dict(ns.d, {" + integer(depth + 1) + ": " + list(depth + 1) + "})";
      case 3: return "{" + string(depth + 1) + ": " + list(depth + 1) + "}";
      default: return "messages[0]";
    }
  }

  std::string any(int depth) {
    switch (in_.ConsumeIntegralInRange(0, 3)) {
      case 0: return string(depth);
      case 1: return list(depth);
      case 2: return dict(depth);
      default: return integer(depth);
    }
  }

  std::string body(int depth) {
    std::string out;
    for (int n = in_.ConsumeIntegralInRange(1, 3); n > 0 && in_.remaining_bytes() > 0; --n) out += statement(depth + 1);
    return out;
  }

  std::string statement(int depth) {
    if (depth > 5) return "{{ " + any(0) + " }}";
    switch (in_.ConsumeIntegralInRange(0, 12)) {
      case 0: return in_.ConsumeRandomLengthString(12);
      case 1: return "{{ " + any(0) + " }}";
      case 2: return "{{ " + string(0) + " }}";
      case 3: {  // a loop over a range, its integer variable usable inside
        const std::string var = "x" + std::to_string(int_vars_.size());
        const std::string head = "{% for " + var + " in range(" + count() + ") %}";
        int_vars_.push_back(var);
        const std::string inner = body(depth);
        int_vars_.pop_back();
        return head + inner + "{% endfor %}";
      }
      case 4: return "{% for item in " + list(0) + " %}{{ item }}" + body(depth) + "{% endfor %}";
      case 5:  // what makes a namespace grow: doubling, repetition, merging
        return one_of({"{% set ns.l = ns.l + ns.l %}", "{% set ns.s = ns.s ~ ns.s %}",
                       "{% set ns.s = ns.s * 2 %}", "{% set ns.d = dict(ns.d, {ns.n: ns.n}) %}",
                       "{% set ns.n = ns.n * 2 %}", "{% set ns.l = [ns.l, ns.l] %}",
                       "{% set ns.n = ns.n + 1 %}", "{% set _ = ns.l.append(ns.l) %}",
                       "{% set ns.inner = ns %}"});
      case 6: return "{% set ns.l = " + list(0) + " %}";
      case 7: return "{% set ns.s = " + string(0) + " %}";
      case 8: return "{% set ns.d = " + dict(0) + " %}{% set ns.n = " + integer(0) + " %}";
      case 9: return "{% if " + any(0) + " %}" + body(depth) + "{% else %}" + body(depth) + "{% endif %}";
      case 10: {  // a macro that may call itself
        const std::string name = "m" + std::to_string(depth);
        return "{% macro " + name + "(n) %}" + body(depth) + "{{ " + name + "(n - 1) if n > 0 else '' }}" +
               "{% endmacro %}{{ " + name + "(" + count() + ") }}";
      }
      case 11: return "{{ ns.l }}{{ ns.s }}{{ ns.d }}";
      default: return "{{ " + list(0) + "|tojson }}";
    }
  }

  FuzzedDataProvider& in_;
  std::vector<std::string> int_vars_;
};

}  // namespace tessera::fuzz
