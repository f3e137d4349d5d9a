#pragma once
// Writes a chat template from fuzzer-chosen bytes: a small program generator for the
// constructs that make a template's work or output grow (loops over large ranges, namespace
// values doubled in a loop, repeated strings, recursive macros, filters and methods given
// integer-boundary arguments, slices with extreme steps). Mutating template text rarely builds
// these: each needs several matching pieces (a namespace, a loop, a set inside it, an output).
#include <cstddef>
#include <string>

#include "tests/fuzz/fuzz_support.hpp"

namespace tessera::fuzz {

class TemplateWriter {
 public:
  explicit TemplateWriter(FuzzedDataProvider& in) : in_(in) {}

  // Statements until the input runs out (or a size cap), after a namespace every statement may
  // use.
  std::string program() {
    std::string out = "{%- set ns = namespace(l=[1, 'a'], s='ab', d={}, n=1) -%}";
    while (in_.remaining_bytes() > 0 && out.size() < 4096) out += statement(0);
    return out;
  }

 private:
  std::string number() { return pick_number(in_); }
  // A loop count: small ones, and counts that turn doubling or quadratic work into a timeout.
  std::string count() {
    static constexpr const char* counts[] = {"0", "1", "3", "10", "40", "64", "100", "3000", "100000"};
    if (in_.ConsumeIntegralInRange(0, 3) == 0) return number();
    return counts[in_.ConsumeIntegralInRange<std::size_t>(0, std::size(counts) - 1)];
  }
  std::string string_literal() {
    static constexpr const char* strings[] = {"'a'", "'ab'", "','", "' '", "''", "'{0}'",
                                              "'{99999999999999999999}'", "'{}{}{}'", "'x\\ny'",
                                              "'<|im_start|>'", "'\xc3\xa9'"};
    return strings[in_.ConsumeIntegralInRange<std::size_t>(0, std::size(strings) - 1)];
  }
  std::string variable() {
    static constexpr const char* names[] = {"messages", "ns.l", "ns.s", "ns.d", "ns.n", "ns", "bos_token",
                                            "add_generation_prompt", "tools", "messages[0]",
                                            "messages[-1]['content']", "loop", "undefined_name"};
    if (loop_depth_ > 0 && in_.ConsumeBool()) return "x" + std::to_string(in_.ConsumeIntegralInRange(0, loop_depth_ - 1));
    return names[in_.ConsumeIntegralInRange<std::size_t>(0, std::size(names) - 1)];
  }

  std::string atom(int depth) {
    switch (in_.ConsumeIntegralInRange(0, 7)) {
      case 0: return number();
      case 1: return string_literal();
      case 2: return "[" + expression(depth + 1) + ", " + expression(depth + 1) + "]";
      case 3: return "{" + string_literal() + ": " + expression(depth + 1) + "}";
      case 4: return "range(" + number() + ", " + number() + ", " + number() + ")";
      case 5: return "range(" + count() + ")";
      case 6: return "(" + expression(depth + 1) + ")";
      default: return variable();
    }
  }

  // A filter with arguments at the boundaries that size an output or a loop.
  std::string filter() {
    const std::string n = number();
    switch (in_.ConsumeIntegralInRange(0, 23)) {
      case 0: return "batch(" + n + ", 0)";
      case 1: return "indent(" + n + ")";
      case 2: return "replace('a', 'aa', " + n + ")";
      case 3: return "tojson(indent=" + n + ")";
      case 4: return "map(attribute='" + n + "')";
      case 5: return "join(" + string_literal() + ")";
      case 6: return "round(" + n + ")";
      case 7: return "format(" + n + ")";
      case 8: return "center(" + n + ")";
      case 9: return "truncate(" + n + ")";
      case 10: return "default(" + n + ")";
      case 11: return "selectattr('" + n + "')";
      case 12: return "dictsort";
      case 13: return "unique";
      case 14: return "sort";
      case 15: return "reverse";
      case 16: return "list";
      case 17: return "length";
      case 18: return "int";
      case 19: return "sum";
      case 20: return "first";
      case 21: return "items";
      case 22: return "string";
      default: return "tojson";
    }
  }
  std::string method() {
    const std::string n = number();
    switch (in_.ConsumeIntegralInRange(0, 10)) {
      case 0: return "format(" + n + ")";
      case 1: return "split(" + string_literal() + ", " + n + ")";
      case 2: return "rsplit(" + string_literal() + ", " + n + ")";
      case 3: return "replace('a', 'aa', " + n + ")";
      case 4: return "center(" + n + ")";
      case 5: return "ljust(" + n + ")";
      case 6: return "index(" + n + ")";
      case 7: return "get(" + n + ")";
      case 8: return "append(" + n + ")";
      case 9: return "join(" + variable() + ")";
      default: return "strip()";
    }
  }

  std::string expression(int depth) {
    std::string out = depth > 4 ? variable() : atom(depth);
    for (int n = in_.ConsumeIntegralInRange(0, 3); n > 0; --n) {
      switch (in_.ConsumeIntegralInRange(0, 5)) {
        case 0: out += "[" + number() + "]"; break;
        case 1: out += "[" + number() + ":" + number() + ":" + number() + "]"; break;
        case 2: out += "|" + filter(); break;
        case 3: out += "." + method(); break;
        case 4: {
          static constexpr const char* ops[] = {" + ", " * ", " ~ ", " in ", " // ", " % ", " ** ", " == "};
          out += ops[in_.ConsumeIntegralInRange<std::size_t>(0, std::size(ops) - 1)] +
                 (depth > 4 ? number() : atom(depth + 1));
          break;
        }
        default: out += " if " + variable() + " else " + string_literal(); break;
      }
    }
    return out;
  }

  std::string body(int depth) {
    std::string out;
    for (int n = in_.ConsumeIntegralInRange(1, 3); n > 0 && in_.remaining_bytes() > 0; --n) out += statement(depth + 1);
    return out;
  }

  std::string statement(int depth) {
    if (depth > 6) return "{{ " + expression(0) + " }}";
    switch (in_.ConsumeIntegralInRange(0, 9)) {
      case 0: return in_.ConsumeRandomLengthString(16);
      case 1: case 2: return "{{ " + expression(0) + " }}";
      case 3: {  // a loop, its variable visible to the statements inside
        const std::string head = "{% for x" + std::to_string(loop_depth_) + " in " +
                                 (in_.ConsumeBool() ? "range(" + count() + ")" : expression(0)) + " %}";
        ++loop_depth_;
        const std::string inner = body(depth);
        --loop_depth_;
        return head + inner + "{% endfor %}";
      }
      case 4: {  // what makes a namespace grow: doubling, repetition, merging
        static constexpr const char* growth[] = {
            "{% set ns.l = ns.l + ns.l %}", "{% set ns.s = ns.s ~ ns.s %}",
            "{% set ns.s = ns.s * 2 %}",   "{% set ns.d = dict(ns.d, **{ns.n|string: ns.l}) %}",
            "{% set ns.n = ns.n * 2 %}",   "{% set ns.l = [ns.l, ns.l] %}",
            "{% set ns.d = ns.d|tojson %}", "{% set _ = ns.l.append(ns.l) %}"};
        return growth[in_.ConsumeIntegralInRange<std::size_t>(0, std::size(growth) - 1)];
      }
      case 5: return "{% set ns.l = " + expression(0) + " %}";
      case 6: return "{% if " + expression(0) + " %}" + body(depth) + "{% else %}" + body(depth) + "{% endif %}";
      case 7: {  // a macro that may call itself
        const std::string name = "m" + std::to_string(depth);
        return "{% macro " + name + "(n) %}" + body(depth) + "{{ " + name + "(n) if n else '' }}{% endmacro %}{{ " +
               name + "(" + number() + ") }}";
      }
      case 8: return "{% set v" + std::to_string(depth) + " = " + expression(0) + " %}";
      default: return "{{ ns.l }}{{ ns.s|length }}{{ ns.d }}";
    }
  }

  FuzzedDataProvider& in_;
  int loop_depth_ = 0;
};

}  // namespace tessera::fuzz
