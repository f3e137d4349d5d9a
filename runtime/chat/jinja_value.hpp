#pragma once
// The dynamic value type of the template interpreter. It mirrors the Python objects that jinja2
// templates see (None, bool, int, float, str, list, tuple, dict, callables, namespace, Undefined)
// so that truthiness, equality and printing follow Python, which is what HF renders with.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/chat/jinja_string.hpp"

namespace tessera::runtime::jinja {

// A failure while evaluating; the interpreter adds the template position and turns it into
// tessera::Error, so helpers that know no position throw this instead.
struct RenderError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Recursive operations on values (printing, comparing, JSON) stop at this depth with an error.
inline constexpr int kMaxValueDepth = 512;

class Value;
using List = std::vector<Value>;

// Insertion-ordered mapping, as Python dicts are. Chat dicts are small and searched linearly;
// past kIndexFrom entries a hash index keeps building and merging big dicts from being quadratic.
// `entries` may be appended to directly (keys must then be new), never reordered or erased.
struct Dict {
  std::vector<std::pair<Value, Value>> entries;
  const Value* find(const Value& key) const;
  Value* find(const Value& key);
  void set(Value key, Value value);
  void clear();

 private:
  static constexpr std::size_t kIndexFrom = 16;
  // A dict copied to be looked up once (`dict(d, {k: v})` in a loop) is searched linearly:
  // building an index for it would cost more. The index comes with repeated lookups.
  static constexpr std::uint32_t kLinearLookups = 8;
  std::size_t lookup(const Value& key) const;  // index into entries, or entries.size()
  // Hash of key -> position, covering entries[0, indexed_); extended on each lookup.
  mutable std::unordered_multimap<std::size_t, std::size_t> index_;
  mutable std::size_t indexed_ = 0;
  mutable std::uint32_t linear_lookups_ = 0;
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  // The keyword named `name`, else positional[index], else nullptr.
  const Value* get(std::size_t index, std::string_view name) const;
};

using Function = std::function<Value(const CallArgs&)>;

class Value {
 public:
  enum class Kind { undefined, none, boolean, integer, floating, string, list, tuple, dict, function, ns };

  Value() = default;  // Undefined
  Value(const Value&) = default;
  Value(Value&&) noexcept = default;
  Value& operator=(const Value&) = default;
  Value& operator=(Value&&) noexcept = default;
  // Releases nested lists and dicts iteratively: hostile templates can nest values far deeper
  // than recursive destruction could survive.
  ~Value();
  static Value undefined(std::string hint = {});
  static Value none();
  Value(bool b);
  Value(std::int64_t i);
  Value(int i) : Value(static_cast<std::int64_t>(i)) {}
  Value(double d);
  Value(std::string s);
  Value(const char* s) : Value(std::string(s)) {}
  static Value list(List items = {});
  static Value tuple(List items);
  static Value dict(Dict d = {});
  static Value function(std::string name, Function f);
  static Value namespace_object(Dict attributes);
  template <typename Json>
  static Value from_json(const Json& j, int depth = 0);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::undefined; }
  bool is_none() const { return kind_ == Kind::none; }
  bool is_bool() const { return kind_ == Kind::boolean; }
  bool is_int() const { return kind_ == Kind::integer; }
  bool is_float() const { return kind_ == Kind::floating; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind_ == Kind::string; }
  bool is_list() const { return kind_ == Kind::list || kind_ == Kind::tuple; }
  bool is_dict() const { return kind_ == Kind::dict; }
  bool is_function() const { return kind_ == Kind::function; }
  bool is_namespace() const { return kind_ == Kind::ns; }

  bool as_bool() const { return b_; }
  std::int64_t as_int() const;  // bool and int
  double as_double() const;     // bool, int and float
  const std::string& as_string() const { return text(); }
  const Text& chars() const { return *s_; }  // string only: indexing by code point
  const std::string& undefined_hint() const { return text(); }
  List& items() const { return *list_; }
  Dict& entries() const { return *dict_; }  // dict and namespace
  // list only: appends, charging the render that made the list for the memory.
  void append(Value item) const;
  const Function& function() const { return *fn_; }
  const std::string& function_name() const { return text(); }

  // Whether this is the only reference to its list or dict, which may then be changed in place.
  bool uniquely_owned() const { return (!list_ || list_.use_count() == 1) && (!dict_ || dict_.use_count() == 1); }

  bool truthy() const;
  std::string str(int depth = 0) const;   // Python str()
  std::string repr(int depth = 0) const;  // Python repr()
  std::string type_name() const;
  // Elements when iterated (dict -> keys, string -> characters); throws for non-iterables.
  List iterate() const;

 private:
  Kind kind_ = Kind::undefined;
  bool b_ = false;
  std::int64_t i_ = 0;
  double d_ = 0;
  // Shared, so copying values (which the interpreter does constantly) never copies text.
  std::shared_ptr<const Text> s_;
  const std::string& text() const;
  std::shared_ptr<List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Function> fn_;
};

bool equals(const Value& a, const Value& b, int depth = 0);
// Consistent with equals (1, 1.0 and True hash alike), for Dict's index and the unique filter.
std::size_t hash_value(const Value& v, int depth = 0);
// Lists, tuples, dicts and namespaces alive in this process: tests check renders leak none.
std::int64_t live_containers();
// Python ordering (<) for numbers, strings and sequences; throws for other pairs.
bool less(const Value& a, const Value& b, int depth = 0);
std::string format_float(double d);              // Python repr of a float
std::string quote_string(const std::string& s);  // Python repr of a str
// How json.dumps lays out its output (HF's tojson filter passes these through).
struct JsonStyle {
  bool pretty = false;  // indent given: newline after each item, `indent` before it
  std::string indent;
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
};
// Python json.dumps with ensure_ascii=False.
std::string dump_json(const Value& v, const JsonStyle& style, int depth = 0);
std::string json_ensure_ascii(const std::string& json);  // escapes non-ASCII as json.dumps does

template <typename Json>
Value Value::from_json(const Json& j, int depth) {
  if (depth > kMaxValueDepth) throw RenderError("JSON value nested too deeply");
  switch (j.type()) {
    case Json::value_t::null: return none();
    case Json::value_t::boolean: return Value(j.template get<bool>());
    case Json::value_t::number_integer: return Value(j.template get<std::int64_t>());
    case Json::value_t::number_unsigned: {
      auto u = j.template get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<std::int64_t>(u));
    }
    case Json::value_t::number_float: return Value(j.template get<double>());
    case Json::value_t::string: return Value(j.template get<std::string>());
    case Json::value_t::array: {
      List out;
      for (const auto& e : j) out.push_back(from_json(e, depth + 1));
      return list(std::move(out));
    }
    case Json::value_t::object: {
      Dict d;
      for (auto it = j.begin(); it != j.end(); ++it)
        d.entries.emplace_back(Value(it.key()), from_json(it.value(), depth + 1));
      return dict(std::move(d));
    }
    default: return none();
  }
}

}  // namespace tessera::runtime::jinja
