// jinja2's built-in filters and tests, plus HF's tojson override.
#include <algorithm>
#include <cfenv>
#include <charconv>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string_view>

#include "runtime/chat/jinja_builtins.hpp"
#include "runtime/chat/jinja_text.hpp"

namespace tessera::runtime::jinja {

namespace {

bool flag(const Value* v, bool fallback) { return v ? v->truthy() : fallback; }

// jinja2's attribute getter: dotted paths, integer parts index sequences.
Value lookup_path(const Value& obj, const std::string& path) {
  Value cur = obj;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) {
      std::int64_t index = 0;
      auto res = std::from_chars(part.data(), part.data() + part.size(), index);
      // An index past int64 is past the end of any sequence: undefined, as jinja2 has it.
      cur = res.ec == std::errc() ? get_item(cur, Value(index)) : Value::undefined("index " + part + " out of range");
    } else {
      cur = get_item(cur, Value(part));
    }
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

// Sort/unique key: strings fold case unless case_sensitive.
Value fold(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value(py_lower(v.as_string())) : v;
}

CallArgs rest_args(const CallArgs& args, std::size_t from) {
  CallArgs out;
  for (std::size_t i = from; i < args.positional.size(); ++i) out.positional.push_back(args.positional[i]);
  out.keyword = args.keyword;
  return out;
}

// select/reject/selectattr/rejectattr share one shape: optional attribute, optional test.
Value select_items(const Value& input, const CallArgs& args, bool with_attribute, bool keep) {
  std::size_t next = 0;
  std::string attribute;
  if (with_attribute) attribute = to_string_arg(args.get(next++, "attribute"), "attribute");
  std::string test;
  if (next < args.positional.size()) test = to_string_arg(&args.positional[next++], "test name");
  CallArgs test_args = rest_args(args, next);
  test_args.keyword.clear();
  List out;
  for (const auto& item : input.iterate()) {
    Value v = with_attribute ? lookup_path(item, attribute) : item;
    bool pass = test.empty() ? v.truthy() : apply_test(test, v, test_args);
    if (pass == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

std::string indent_text(const std::string& s, const std::string& pad, bool first, bool blank) {
  std::size_t max_lines = current_limits().max_list_length;
  std::vector<std::string> lines = py_splitlines(s + "\n", max_lines);
  check_list_size(lines.size());
  charge_lines(s.size(), lines.size());
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i) out += "\n";
    bool indent = i == 0 ? first : (blank || !lines[i].empty());
    // Checked before appending: a long pad on many lines grows the text many times over.
    if (indent) check_string_size(out.size() + pad.size());
    if (indent) out += pad;
    out += lines[i];
    check_string_size(out.size());
  }
  return out;
}

double round_to(double x, std::int64_t precision, const std::string& method) {
  // 10^308 is the largest power of ten a double holds; past it every double rounds to itself
  // or to zero, and clamping keeps -precision from overflowing.
  precision = std::clamp<std::int64_t>(precision, -308, 308);
  if (method == "ceil" || method == "floor") {
    double scale = std::pow(10.0, static_cast<double>(precision));
    if (!std::isfinite(x * scale)) return x;  // digits that far down are below a double's precision
    return (method == "ceil" ? std::ceil(x * scale) : std::floor(x * scale)) / scale;
  }
  if (method != "common") fail("method must be common, ceil or floor");
  if (!std::isfinite(x)) return x;
  if (precision == 0) return std::nearbyint(x);
  if (precision > 0 && precision < 300) {
    // printf rounds the exact binary value half-to-even, as Python's round() does.
    char buf[512];
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(precision), x);
    return std::strtod(buf, nullptr);
  }
  if (precision >= 300) return x;
  double scale = std::pow(10.0, static_cast<double>(-precision));
  return std::nearbyint(x / scale) * scale;
}

// trunc(d) as an int64; out of range (where Python's int would just grow) fails.
std::int64_t float_to_int(double d) {
  if (!std::isfinite(d)) fail("cannot convert float infinity or NaN to integer");
  double t = std::trunc(d);
  if (t < -9223372036854775808.0 || t >= 9223372036854775808.0)
    fail("integer overflow: " + format_float(d) + " does not fit tessera's 64-bit integers");
  return static_cast<std::int64_t>(t);
}

Value to_int(const Value& v, const Value& fallback, std::int64_t base) {
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) return Value(float_to_int(v.as_double()));
  if (!v.is_string()) return fallback;
  std::string s = py_strip(v.as_string(), nullptr, true, true);
  std::string digits;
  for (char c : s)
    if (c != '_') digits.push_back(c);
  if (!digits.empty()) {
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(digits.c_str(), &end, static_cast<int>(base));
    if (*end == '\0' && errno == 0) return Value(static_cast<std::int64_t>(n));
    double d = std::strtod(digits.c_str(), &end);
    if (*end == '\0' && std::isfinite(d)) return Value(float_to_int(d));
  }
  return fallback;
}

Value to_float(const Value& v, const Value& fallback) {
  if (v.is_number()) return Value(v.as_double());
  if (!v.is_string()) return fallback;
  std::string s = py_strip(v.as_string(), nullptr, true, true);
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0') return fallback;
  return Value(d);
}

Value sorted(List items, bool reverse, bool case_sensitive, const std::string& attribute) {
  auto key = [&](const Value& v) { return fold(attribute.empty() ? v : lookup_path(v, attribute), case_sensitive); };
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    return reverse ? less(key(b), key(a)) : less(key(a), key(b));
  });
  return Value::list(std::move(items));
}

}  // namespace

Value apply_filter(const std::string& name, const Value& input, const CallArgs& args) {
  if (name == "length" || name == "count") {
    if (input.is_string()) return Value(static_cast<std::int64_t>(input.chars().length()));
    if (input.is_list()) return Value(static_cast<std::int64_t>(input.items().size()));
    if (input.is_dict()) return Value(static_cast<std::int64_t>(input.entries().entries.size()));
    if (input.is_undefined()) return Value(std::int64_t{0});
    fail("object of type '" + input.type_name() + "' has no len()");
  }
  if (name == "trim") {
    const Value* chars = args.get(0, "chars");
    std::string set = chars && chars->is_string() ? chars->as_string() : std::string();
    return Value(py_strip(input.str(), chars && chars->is_string() ? &set : nullptr, true, true));
  }
  if (name == "upper") return Value(py_upper(input.str()));
  if (name == "lower") return Value(py_lower(input.str()));
  if (name == "title") return Value(jinja_title(input.str()));
  if (name == "capitalize") return Value(py_capitalize(input.str()));
  if (name == "replace") {
    std::string out;
    if (!py_replace(input.str(), to_string_arg(args.get(0, "old"), "old"), to_string_arg(args.get(1, "new"), "new"),
                    to_int_arg(args.get(2, "count"), -1, "count"), current_limits().max_string_bytes, out))
      check_string_size(SIZE_MAX);
    return Value(std::move(out));
  }
  if (name == "join") {
    const Value* sep = args.get(0, "d");
    const Value* attribute = args.get(1, "attribute");
    std::string out, separator = sep ? sep->str() : "";
    bool first = true;
    for (const auto& item : input.iterate()) {
      if (!first) out += separator;
      first = false;
      out += (attribute ? lookup_path(item, attribute->str()) : item).str();
      check_string_size(out.size());
    }
    return Value(std::move(out));
  }
  if (name == "default" || name == "d") {
    const Value* fallback = args.get(0, "default_value");
    bool use = input.is_undefined() || (flag(args.get(1, "boolean"), false) && !input.truthy());
    return use ? (fallback ? *fallback : Value(std::string())) : input;
  }
  if ((name == "first" || name == "last") && input.is_string() && input.chars().length() > 0) {
    const Text& t = input.chars();
    return Value(t.at(name == "first" ? 0 : t.length() - 1));
  }
  if ((name == "first" || name == "last") && input.is_list() && !input.items().empty())
    return name == "first" ? input.items().front() : input.items().back();
  if (name == "first" || name == "last") {
    List items = input.iterate();
    if (items.empty()) return Value::undefined("No " + name + " item, sequence was empty.");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") return Value::list(input.iterate());
  if (name == "map") {
    List out;
    const Value* attribute = nullptr;
    for (const auto& [k, v] : args.keyword)
      if (k == "attribute") attribute = &v;
    if (attribute) {
      const Value* fallback = nullptr;
      for (const auto& [k, v] : args.keyword)
        if (k == "default") fallback = &v;
      for (const auto& item : input.iterate()) {
        Value v = lookup_path(item, attribute->str());
        out.push_back(v.is_undefined() && fallback ? *fallback : v);
      }
    } else {
      std::string filter = to_string_arg(args.get(0, "filter"), "map filter name");
      CallArgs filter_args = rest_args(args, 1);
      for (const auto& item : input.iterate()) out.push_back(apply_filter(filter, item, filter_args));
    }
    return Value::list(std::move(out));
  }
  if (name == "select") return select_items(input, args, false, true);
  if (name == "reject") return select_items(input, args, false, false);
  if (name == "selectattr") return select_items(input, args, true, true);
  if (name == "rejectattr") return select_items(input, args, true, false);
  if (name == "tojson") {
    // HF's signature: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
    JsonStyle style;
    const Value* indent = args.get(1, "indent");
    if (indent && !indent->is_none()) {
      style.pretty = true;
      style.item_separator = ",";
      style.indent =
          indent->is_string()
              ? indent->as_string()
              : std::string(static_cast<std::size_t>(std::clamp<std::int64_t>(to_int_arg(indent, 0, "indent"), 0, 64)),
                            ' ');
    }
    const Value* separators = args.get(2, "separators");
    if (separators && !separators->is_none()) {
      if (!separators->is_list() || separators->items().size() != 2) fail("separators must be a pair of strings");
      style.item_separator = separators->items()[0].str();
      style.key_separator = separators->items()[1].str();
    }
    style.sort_keys = flag(args.get(3, "sort_keys"), false);
    std::string out = dump_json(input, style);
    return Value(flag(args.get(0, "ensure_ascii"), false) ? json_ensure_ascii(out) : out);
  }
  if (name == "string" || name == "safe") return Value(input.str());
  if (name == "escape" || name == "e") return Value(html_escape(input.str()));
  if (name == "int") {
    const Value* fallback = args.get(0, "default");
    return to_int(input, fallback ? *fallback : Value(std::int64_t{0}), to_int_arg(args.get(1, "base"), 10, "base"));
  }
  if (name == "float") {
    const Value* fallback = args.get(0, "default");
    return to_float(input, fallback ? *fallback : Value(0.0));
  }
  if (name == "items") {
    if (input.is_undefined()) return Value::list();
    if (!input.is_dict()) fail("Can only get item pairs from a mapping.");
    List out;
    for (const auto& [k, v] : input.entries().entries) out.push_back(Value::tuple({k, v}));
    return Value::list(std::move(out));
  }
  if (name == "indent") {
    const Value* width = args.get(0, "width");
    std::string pad =
        width && width->is_string()
            ? width->as_string()
            : std::string(static_cast<std::size_t>(std::clamp<std::int64_t>(to_int_arg(width, 4, "width"), 0, 1000)),
                          ' ');
    return Value(indent_text(input.str(), pad, flag(args.get(1, "first"), false), flag(args.get(2, "blank"), false)));
  }
  if (name == "round") {
    std::int64_t precision = to_int_arg(args.get(0, "precision"), 0, "precision");
    const Value* method = args.get(1, "method");
    std::string how = method ? method->str() : "common";
    if (!input.is_number()) fail("round: expected a number, got " + input.type_name());
    if (how == "common" && !input.is_float() && precision >= 0) return Value(input.as_int());
    return Value(round_to(input.as_double(), precision, how));
  }
  if (name == "abs") {
    if (input.is_float()) return Value(std::fabs(input.as_double()));
    if (input.is_int() || input.is_bool()) return input.as_int() < 0 ? negate(input) : Value(input.as_int());
    fail("bad operand type for abs(): '" + input.type_name() + "'");
  }
  if (name == "unique") {
    bool case_sensitive = flag(args.get(0, "case_sensitive"), false);
    const Value* attribute = args.get(1, "attribute");
    List out;
    Dict seen;  // hashed: comparing each item with every one kept was quadratic
    for (const auto& item : input.iterate()) {
      Value key = fold(attribute ? lookup_path(item, attribute->str()) : item, case_sensitive);
      if (!seen.find(key)) {
        seen.entries.emplace_back(std::move(key), Value::none());
        out.push_back(item);
      }
    }
    return Value::list(std::move(out));
  }
  if (name == "reverse") {
    if (input.is_string()) {
      std::u32string u = utf8_decode(input.as_string());
      std::reverse(u.begin(), u.end());
      return Value(utf8_encode(u));
    }
    List items = input.iterate();
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "sort") {
    const Value* attribute = args.get(2, "attribute");
    return sorted(input.iterate(), flag(args.get(0, "reverse"), false), flag(args.get(1, "case_sensitive"), false),
                  attribute ? attribute->str() : "");
  }
  if (name == "dictsort") {
    if (!input.is_dict()) fail("dictsort: expected a mapping");
    bool case_sensitive = flag(args.get(0, "case_sensitive"), false);
    const Value* by = args.get(1, "by");
    std::string attribute = by && by->str() == "value" ? "1" : "0";
    List pairs;
    for (const auto& [k, v] : input.entries().entries) pairs.push_back(Value::tuple({k, v}));
    return sorted(std::move(pairs), flag(args.get(2, "reverse"), false), case_sensitive, attribute);
  }
  if (name == "batch") {
    std::int64_t size = to_int_arg(args.get(0, "linecount"), 1, "linecount");
    if (size <= 0) fail("batch size must be positive");
    const Value* fill = args.get(1, "fill_with");
    List out, current;
    for (const auto& item : input.iterate()) {
      current.push_back(item);
      if (static_cast<std::int64_t>(current.size()) == size) out.push_back(Value::list(std::exchange(current, {})));
    }
    if (!current.empty()) {
      // Filling up to a huge batch size would never end: refuse what could not be built.
      if (fill && !fill->is_none()) check_list_size(static_cast<std::uint64_t>(size));
      while (fill && !fill->is_none() && static_cast<std::int64_t>(current.size()) < size) current.push_back(*fill);
      out.push_back(Value::list(std::move(current)));
    }
    return Value::list(std::move(out));
  }
  if (name == "wordcount") {
    std::int64_t words = 0;
    bool in_word = false;
    for (char32_t c : utf8_decode(input.str())) {
      bool word = c == '_' || py_isalnum(c);  // Python's \w
      if (word && !in_word) ++words;
      in_word = word;
    }
    return Value(words);
  }
  if (name == "sum") {
    const Value* attribute = args.get(0, "attribute");
    const Value* start = args.get(1, "start");
    Value total = start ? *start : Value(std::int64_t{0});
    for (const auto& item : input.iterate())
      total = binary_op("+", total, attribute ? lookup_path(item, attribute->str()) : item);
    return total;
  }
  if (name == "min" || name == "max") {
    bool case_sensitive = flag(args.get(0, "case_sensitive"), false);
    const Value* attribute = args.get(1, "attribute");
    List items = input.iterate();
    if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
    auto key = [&](const Value& v) { return fold(attribute ? lookup_path(v, attribute->str()) : v, case_sensitive); };
    Value best = items[0];
    for (const auto& item : items)
      if (name == "min" ? less(key(item), key(best)) : less(key(best), key(item))) best = item;
    return best;
  }
  if (name == "attr") return get_attribute(input, to_string_arg(args.get(0, "name"), "attribute name"));
  fail("unknown filter '" + name + "'");
}

bool apply_test(const std::string& name, const Value& v, const CallArgs& args) {
  auto arg = [&]() -> const Value& {
    const Value* a = args.get(0, "other");
    if (!a) fail("test '" + name + "' needs an argument");
    return *a;
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
  if (name == "sequence") return v.is_string() || v.is_list() || v.is_dict();
  if (name == "callable") return v.is_function();
  if (name == "odd" || name == "even") {
    Value r = binary_op("%", v, Value(std::int64_t{2}));
    return name == "odd" ? equals(r, Value(std::int64_t{1})) : equals(r, Value(std::int64_t{0}));
  }
  if (name == "divisibleby") return equals(binary_op("%", v, arg()), Value(std::int64_t{0}));
  if (name == "eq" || name == "equalto" || name == "==") return equals(v, arg());
  if (name == "ne" || name == "!=") return !equals(v, arg());
  if (name == "lt" || name == "lessthan" || name == "<") return less(v, arg());
  if (name == "gt" || name == "greaterthan" || name == ">") return less(arg(), v);
  if (name == "le" || name == "<=") return !less(arg(), v);
  if (name == "ge" || name == ">=") return !less(v, arg());
  if (name == "in") return contains(arg(), v);
  if (name == "sameas") {
    const Value& o = arg();
    if (v.is_none() || v.is_bool() || v.is_undefined()) return v.kind() == o.kind() && equals(v, o);
    return v.kind() == o.kind() && (v.is_list() ? &v.items() == &o.items() : equals(v, o));
  }
  if (name == "lower") return v.is_string() && py_lower(v.as_string()) == v.as_string();
  if (name == "upper") return v.is_string() && py_upper(v.as_string()) == v.as_string();
  if (name == "escaped") return false;
  fail("unknown test '" + name + "'");
}

namespace {
bool listed(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}
}  // namespace

bool has_filter(std::string_view name) {
  return listed(name,
                {"abs",        "attr",    "batch",   "capitalize", "count",  "d",      "default",    "dictsort",
                 "e",          "escape",  "first",   "float",      "indent", "int",    "items",      "join",
                 "last",       "length",  "list",    "lower",      "map",    "max",    "min",        "reject",
                 "rejectattr", "replace", "reverse", "round",      "safe",   "select", "selectattr", "sort",
                 "string",     "sum",     "title",   "tojson",     "trim",   "unique", "upper",      "wordcount"});
}

bool has_test(std::string_view name) {
  return listed(name, {"!=",       "<",           "<=",      "==",        ">",       ">=",       "boolean", "callable",
                       "defined",  "divisibleby", "eq",      "equalto",   "escaped", "even",     "false",   "float",
                       "ge",       "greaterthan", "gt",      "in",        "integer", "iterable", "le",      "lessthan",
                       "lower",    "lt",          "mapping", "ne",        "none",    "number",   "odd",     "sameas",
                       "sequence", "string",      "true",    "undefined", "upper"});
}

}  // namespace tessera::runtime::jinja
