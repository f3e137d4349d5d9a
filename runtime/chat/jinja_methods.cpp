// Attribute and item access, slicing, and the methods of str, dict and list.
#include <algorithm>
#include <charconv>
#include <cstdint>

#include "runtime/chat/jinja_builtins.hpp"
#include "runtime/chat/jinja_text.hpp"

namespace tessera::runtime::jinja {

std::int64_t to_int_arg(const Value* v, std::int64_t fallback, const char* what) {
  if (!v || v->is_none() || v->is_undefined()) return fallback;
  if (!v->is_int() && !v->is_bool()) fail(std::string(what) + " must be an integer, not " + v->type_name());
  return v->as_int();
}

std::string to_string_arg(const Value* v, const char* what) {
  if (!v || !v->is_string()) fail(std::string(what) + " must be a string");
  return v->as_string();
}

namespace {

// Python's str.format with automatic, numbered and named fields; format specs are refused.
std::string py_format(const std::string& fmt, const CallArgs& args) {
  std::string out;
  std::size_t auto_index = 0;
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out.push_back('{');
      ++i;
    } else if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out.push_back('}');
      ++i;
    } else if (c == '{') {
      std::size_t close = fmt.find('}', i);
      if (close == std::string::npos) fail("format: single '{' encountered");
      std::string field = fmt.substr(i + 1, close - i - 1);
      if (field.find_first_of(":!") != std::string::npos) fail("format: format specifications are not supported");
      const Value* v = nullptr;
      if (field.empty()) {
        v = auto_index < args.positional.size() ? &args.positional[auto_index] : nullptr;
        ++auto_index;
      } else if (std::isdigit(static_cast<unsigned char>(field[0]))) {
        std::size_t index = 0;
        auto res = std::from_chars(field.data(), field.data() + field.size(), index);
        if (res.ec != std::errc()) fail("format: replacement index " + field + " out of range");
        if (res.ptr != field.data() + field.size()) fail("format: unsupported field '" + field + "'");
        v = index < args.positional.size() ? &args.positional[index] : nullptr;
      } else {
        for (const auto& [k, val] : args.keyword)
          if (k == field) v = &val;
      }
      if (!v) fail("format: missing argument for field '" + field + "'");
      // Checked per field: each `{0}` may repeat a long argument.
      out += v->str();
      check_string_size(out.size());
      i = close;
    } else if (c == '}') {
      fail("format: single '}' encountered");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool starts_or_ends(const Value& s, const Value* arg, bool start) {
  if (!arg) fail(std::string(start ? "startswith" : "endswith") + " needs an argument");
  List options = arg->is_list() ? arg->items() : List{*arg};
  const std::string& str = s.as_string();
  for (const auto& o : options) {
    if (!o.is_string()) fail("startswith/endswith arguments must be strings");
    const std::string& p = o.as_string();
    if (p.size() <= str.size() &&
        (start ? str.compare(0, p.size(), p) == 0 : str.compare(str.size() - p.size(), p.size(), p) == 0))
      return true;
  }
  return false;
}

bool all_chars(const std::string& s, bool (*pred)(char32_t)) {
  std::u32string u = utf8_decode(s);
  if (u.empty()) return false;
  for (char32_t c : u)
    if (!pred(c)) return false;
  return true;
}

Value string_method(const Value& self, const std::string& name, const CallArgs& a) {
  const std::string& s = self.as_string();
  auto chars = [&](std::size_t i) -> const std::string* {
    const Value* v = a.get(i, "chars");
    if (!v || v->is_none()) return nullptr;
    if (!v->is_string()) fail(name + " arg must be None or str");
    return &v->as_string();
  };
  if (name == "strip") return Value(py_strip(s, chars(0), true, true));
  if (name == "lstrip") return Value(py_strip(s, chars(0), true, false));
  if (name == "rstrip") return Value(py_strip(s, chars(0), false, true));
  if (name == "split" || name == "rsplit") {
    const Value* sep = a.get(0, "sep");
    std::int64_t maxsplit = to_int_arg(a.get(1, "maxsplit"), -1, "maxsplit");
    std::string sep_s;
    bool has_sep = sep && !sep->is_none();
    if (has_sep) {
      sep_s = to_string_arg(sep, "separator");
      if (sep_s.empty()) fail("empty separator");
    }
    std::size_t max_parts = current_limits().max_list_length;
    std::vector<std::string> parts = name == "rsplit" ? py_rsplit(s, has_sep ? &sep_s : nullptr, maxsplit, max_parts)
                                                      : py_split(s, has_sep ? &sep_s : nullptr, maxsplit, max_parts);
    check_list_size(parts.size());
    List out;
    for (auto& p : parts) out.emplace_back(std::move(p));
    return Value::list(std::move(out));
  }
  if (name == "startswith") return Value(starts_or_ends(self, a.get(0, "prefix"), true));
  if (name == "endswith") return Value(starts_or_ends(self, a.get(0, "suffix"), false));
  if (name == "upper") return Value(py_upper(s));
  if (name == "lower") return Value(py_lower(s));
  if (name == "title") return Value(py_title(s));
  if (name == "capitalize") return Value(py_capitalize(s));
  if (name == "replace") {
    std::string out;
    if (!py_replace(s, to_string_arg(a.get(0, "old"), "old"), to_string_arg(a.get(1, "new"), "new"),
                    to_int_arg(a.get(2, "count"), -1, "count"), current_limits().max_string_bytes, out))
      check_string_size(SIZE_MAX);
    return Value(std::move(out));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
    std::int64_t at = py_find(s, to_string_arg(a.get(0, "sub"), "substring"), name[0] == 'r');
    if (at < 0 && (name == "index" || name == "rindex")) fail("substring not found");
    return Value(at);
  }
  if (name == "count") {
    std::string sub = to_string_arg(a.get(0, "sub"), "substring");
    if (sub.empty()) return Value(static_cast<std::int64_t>(self.chars().length() + 1));
    std::int64_t n = 0;
    for (std::size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
    return Value(n);
  }
  if (name == "join") {
    const Value* items = a.get(0, "iterable");
    if (!items) fail("join() takes exactly one argument");
    std::string out;
    List list = items->iterate();
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_string())
        fail("sequence item " + std::to_string(i) + ": expected str instance, " + list[i].type_name() + " found");
      if (i) out += s;
      out += list[i].as_string();
      check_string_size(out.size());
    }
    return Value(std::move(out));
  }
  if (name == "format") return Value(checked_size(py_format(s, a)));
  if (name == "splitlines") {
    List out;
    std::vector<std::string> lines = py_splitlines(s, current_limits().max_list_length);
    check_list_size(lines.size());
    charge_lines(s.size(), lines.size());
    for (auto& line : lines) out.emplace_back(std::move(line));
    return Value::list(std::move(out));
  }
  if (name == "isspace") return Value(all_chars(s, py_isspace));
  if (name == "isdigit") return Value(all_chars(s, [](char32_t c) { return c >= '0' && c <= '9'; }));
  if (name == "isalnum") return Value(all_chars(s, py_isalnum));
  if (name == "islower") return Value(py_lower(s) == s && py_upper(s) != s);
  if (name == "isupper") return Value(py_upper(s) == s && py_lower(s) != s);
  fail("'str' object has no attribute '" + name + "'");
}

Value dict_method(const Value& self, const std::string& name, const CallArgs& a) {
  const Dict& d = self.entries();
  if (name == "items") {
    List out;
    for (const auto& [k, v] : d.entries) out.push_back(Value::tuple({k, v}));
    return Value::list(std::move(out));
  }
  if (name == "keys" || name == "values") {
    List out;
    for (const auto& [k, v] : d.entries) out.push_back(name == "keys" ? k : v);
    return Value::list(std::move(out));
  }
  // get
  const Value* key = a.get(0, "key");
  if (!key) fail("get expected at least 1 argument");
  if (const Value* v = d.find(*key)) return *v;
  const Value* fallback = a.get(1, "default");
  return fallback ? *fallback : Value::none();
}

Value list_method(const Value& self, const std::string& name, const CallArgs& a) {
  const Value* x = a.get(0, "value");
  if (!x) fail(name + "() takes exactly one argument");
  if (name == "append") {
    // HF's immutable sandbox forbids this; tessera allows it as other runtimes do.
    if (would_cycle(self, *x)) fail("cannot append a value that contains the list itself");
    self.append(*x);
    return Value::none();
  }
  std::int64_t n = 0;
  for (std::size_t i = 0; i < self.items().size(); ++i) {
    if (equals(self.items()[i], *x)) {
      if (name == "index") return Value(static_cast<std::int64_t>(i));
      ++n;
    }
  }
  if (name == "index") fail("value is not in list");
  return Value(n);
}

bool is_method(const Value& obj, const std::string& name) {
  static const char* const str_methods[] = {
      "strip",  "lstrip",     "rstrip",  "split",   "rsplit",  "startswith", "endswith", "upper", "lower",
      "title",  "capitalize", "replace", "find",    "rfind",   "index",      "rindex",   "count", "join",
      "format", "splitlines", "isspace", "isdigit", "isalnum", "islower",    "isupper"};
  static const char* const dict_methods[] = {"items", "keys", "values", "get"};
  if (obj.is_string()) {
    for (const char* m : str_methods)
      if (name == m) return true;
  } else if (obj.is_dict()) {
    for (const char* m : dict_methods)
      if (name == m) return true;
  } else if (obj.kind() == Value::Kind::list) {
    return name == "append" || name == "index" || name == "count";
  } else if (obj.kind() == Value::Kind::tuple) {
    return name == "index" || name == "count";
  }
  return false;
}

// Built by appending: GCC 12 warns falsely (-Wrestrict) on `"'" + std::string`.
Value no_attribute(const Value& obj, const std::string& name) {
  std::string hint = "'";
  hint += obj.is_namespace() ? "Namespace" : obj.type_name();
  hint += " object' has no attribute '";
  hint += name;
  hint += "'";
  return Value::undefined(std::move(hint));
}

}  // namespace

bool would_cycle(const Value& container, const Value& value) {
  // Reference cycles would leak and make printing recurse forever, so storing a value that
  // reaches the container is refused. Bound methods hide what they hold: treat them as cycles.
  const void* target = container.is_list() ? static_cast<const void*>(&container.items())
                                           : static_cast<const void*>(&container.entries());
  std::vector<const Value*> stack{&value};
  std::size_t budget = 100000;
  while (!stack.empty()) {
    const Value* v = stack.back();
    stack.pop_back();
    if (--budget == 0) return true;
    if (v->is_function() && v->function_name().find('.') != std::string::npos) return true;
    if (v->is_list()) {
      if (&v->items() == target) return true;
      for (const auto& item : v->items()) stack.push_back(&item);
    } else if (v->is_dict() || v->is_namespace()) {
      if (&v->entries() == target) return true;
      for (const auto& [k, item] : v->entries().entries) stack.push_back(&item);
    }
  }
  return false;
}

Value get_attribute(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (is_method(obj, name)) {
    // The dotted name marks a bound method, which holds its object (see would_cycle).
    return Value::function(obj.type_name() + "." + name, [obj, name](const CallArgs& args) -> Value {
      if (obj.is_string()) return string_method(obj, name, args);
      if (obj.is_dict()) return dict_method(obj, name, args);
      return list_method(obj, name, args);
    });
  }
  if (obj.is_dict() || obj.is_namespace()) {
    if (const Value* v = obj.entries().find(Value(name))) return *v;
  }
  return no_attribute(obj, name);
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.is_dict() || obj.is_namespace()) {
    if (const Value* v = obj.entries().find(key)) return *v;
    if (key.is_string() && obj.is_dict() && is_method(obj, key.as_string())) return get_attribute(obj, key.as_string());
    return no_attribute(obj, key.str());
  }
  if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    std::int64_t i = key.as_int();
    if (obj.is_list()) {
      auto n = static_cast<std::int64_t>(obj.items().size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::undefined(obj.type_name() + " index out of range");
      return obj.items()[static_cast<std::size_t>(i)];
    }
    const Text& text = obj.chars();
    auto n = static_cast<std::int64_t>(text.length());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::undefined("string index out of range");
    return Value(text.at(static_cast<std::size_t>(i)));
  }
  if (key.is_string()) return get_attribute(obj, key.as_string());
  return no_attribute(obj, key.str());
}

Value get_slice(const Value& obj, const Value& start_v, const Value& stop_v, const Value& step_v) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (!obj.is_list() && !obj.is_string()) fail("'" + obj.type_name() + "' object is not subscriptable");
  auto bound = [](const Value& v) { return v.is_none() || v.is_undefined(); };
  std::int64_t step = bound(step_v) ? 1 : to_int_arg(&step_v, 1, "slice step");
  if (step == 0) fail("slice step cannot be zero");
  auto n = static_cast<std::int64_t>(obj.is_string() ? obj.chars().length() : obj.items().size());
  // Python's PySlice_AdjustIndices: afterwards start and stop lie in [-1, n].
  auto adjust = [&](const Value& v, std::int64_t fallback) {
    if (bound(v)) return fallback;
    std::int64_t i = to_int_arg(&v, 0, "slice index");
    if (i < 0) i = std::max<std::int64_t>(i + n, step < 0 ? -1 : 0);  // i + n cannot overflow: n >= 0
    return std::min(i, step < 0 ? n - 1 : n);
  };
  std::int64_t start = adjust(start_v, step < 0 ? n - 1 : 0);
  std::int64_t stop = adjust(stop_v, step < 0 ? -1 : n);
  // How many items, in unsigned arithmetic: stepping an index by a step near INT64_MAX would
  // overflow (and once read far past the end).
  std::uint64_t count = 0;
  if (step > 0 && start < stop)
    count = (static_cast<std::uint64_t>(stop - start) - 1) / static_cast<std::uint64_t>(step) + 1;
  if (step < 0 && start > stop)
    count = (static_cast<std::uint64_t>(start - stop) - 1) / (0 - static_cast<std::uint64_t>(step)) + 1;
  charge_steps(count);
  // Item k is start + k * step, which lies between start and stop, so it fits.
  auto index = [&](std::uint64_t k) {
    return static_cast<std::size_t>(static_cast<std::uint64_t>(start) + k * static_cast<std::uint64_t>(step));
  };
  if (obj.is_string()) {
    const Text& text = obj.chars();
    if (step == 1) return Value(text.substr(static_cast<std::size_t>(start), static_cast<std::size_t>(start) + count));
    std::string out;
    for (std::uint64_t k = 0; k < count; ++k) out += text.at(index(k));
    return Value(std::move(out));
  }
  List out;
  out.reserve(count);
  for (std::uint64_t k = 0; k < count; ++k) out.push_back(obj.items()[index(k)]);
  return obj.kind() == Value::Kind::tuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

}  // namespace tessera::runtime::jinja
