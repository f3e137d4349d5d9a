#pragma once
// The built-in filters, tests, operators and object methods, with Python/jinja2 semantics.
// They throw RenderError; the interpreter adds the template position.
#include <string>
#include <string_view>

#include "runtime/chat/jinja_budget.hpp"
#include "runtime/chat/jinja_value.hpp"

namespace tessera::runtime::jinja {

// Errors while rendering; the interpreter adds the template position.
[[noreturn]] inline void fail(const std::string& message) { throw RenderError(message); }
[[noreturn]] inline void fail_undefined(const Value& v) {
  fail(v.undefined_hint().empty() ? "value is undefined" : v.undefined_hint());
}
// Passes a string result through, refusing one past RenderLimits::max_string_bytes.
inline std::string checked_size(std::string s) {
  check_string_size(s.size());
  return s;
}

// Whether a filter or test of that name exists; the parser refuses unknown ones, as jinja2 does
// when it compiles a template.
bool has_filter(std::string_view name);
bool has_test(std::string_view name);

Value apply_filter(const std::string& name, const Value& input, const CallArgs& args);
bool apply_test(const std::string& name, const Value& value, const CallArgs& args);

Value binary_op(const std::string& op, const Value& a, const Value& b);
Value negate(const Value& v);
bool contains(const Value& container, const Value& item);

// `obj.name`: dict keys and namespace attributes, bound methods of str/dict/list, else undefined.
Value get_attribute(const Value& obj, const std::string& name);
// `obj[key]`: missing keys and indices give undefined, as in jinja2.
Value get_item(const Value& obj, const Value& key);
// Whether storing `value` inside `container` (a list, dict or namespace) could form a cycle.
bool would_cycle(const Value& container, const Value& value);
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

std::int64_t to_int_arg(const Value* v, std::int64_t fallback, const char* what);
std::string to_string_arg(const Value* v, const char* what);

}  // namespace tessera::runtime::jinja
