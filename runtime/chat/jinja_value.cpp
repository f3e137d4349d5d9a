#include "runtime/chat/jinja_value.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "runtime/chat/jinja_text.hpp"

namespace tessera::runtime::jinja {

namespace {
[[noreturn]] void fail(const std::string& message) { throw RenderError(message); }
}  // namespace

const Value* Dict::find(const Value& key) const {
  for (const auto& [k, v] : entries)
    if (equals(k, key)) return &v;
  return nullptr;
}

Value* Dict::find(const Value& key) {
  for (auto& [k, v] : entries)
    if (equals(k, key)) return &v;
  return nullptr;
}

void Dict::set(Value key, Value value) {
  if (Value* existing = find(key)) {
    *existing = std::move(value);
    return;
  }
  entries.emplace_back(std::move(key), std::move(value));
}

const Value* CallArgs::get(std::size_t index, std::string_view name) const {
  for (const auto& [k, v] : keyword)
    if (k == name) return &v;
  return index < positional.size() ? &positional[index] : nullptr;
}

Value Value::undefined(std::string hint) {
  Value v;
  if (!hint.empty()) v.s_ = std::make_shared<const std::string>(std::move(hint));
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::none;
  return v;
}

Value::Value(bool b) : kind_(Kind::boolean), b_(b) {}
Value::Value(std::int64_t i) : kind_(Kind::integer), i_(i) {}
Value::Value(double d) : kind_(Kind::floating), d_(d) {}
Value::Value(std::string s) : kind_(Kind::string), s_(std::make_shared<const std::string>(std::move(s))) {}

Value::~Value() {
  if ((!list_ || list_.use_count() != 1) && (!dict_ || dict_.use_count() != 1)) return;
  // Containers about to die are emptied into a work list, so no destructor recurses deeply.
  std::vector<std::shared_ptr<List>> lists;
  std::vector<std::shared_ptr<Dict>> dicts;
  if (list_ && list_.use_count() == 1) lists.push_back(std::move(list_));
  if (dict_ && dict_.use_count() == 1) dicts.push_back(std::move(dict_));
  auto adopt = [&](Value& v) {
    if (v.list_ && v.list_.use_count() == 1) lists.push_back(std::move(v.list_));
    if (v.dict_ && v.dict_.use_count() == 1) dicts.push_back(std::move(v.dict_));
  };
  while (!lists.empty() || !dicts.empty()) {
    if (!lists.empty()) {
      std::shared_ptr<List> l = std::move(lists.back());
      lists.pop_back();
      for (auto& v : *l) adopt(v);
    } else {
      std::shared_ptr<Dict> d = std::move(dicts.back());
      dicts.pop_back();
      for (auto& [k, v] : d->entries) {
        adopt(k);
        adopt(v);
      }
    }
  }
}

const std::string& Value::text() const {
  static const std::string empty;
  return s_ ? *s_ : empty;
}

Value Value::list(List items) {
  Value v;
  v.kind_ = Kind::list;
  v.list_ = std::make_shared<List>(std::move(items));
  return v;
}

Value Value::tuple(List items) {
  Value v = list(std::move(items));
  v.kind_ = Kind::tuple;
  return v;
}

Value Value::dict(Dict d) {
  Value v;
  v.kind_ = Kind::dict;
  v.dict_ = std::make_shared<Dict>(std::move(d));
  return v;
}

Value Value::function(std::string name, Function f) {
  Value v;
  v.kind_ = Kind::function;
  v.s_ = std::make_shared<const std::string>(std::move(name));
  v.fn_ = std::make_shared<Function>(std::move(f));
  return v;
}

Value Value::namespace_object(Dict attributes) {
  Value v = dict(std::move(attributes));
  v.kind_ = Kind::ns;
  return v;
}

std::int64_t Value::as_int() const { return is_bool() ? (b_ ? 1 : 0) : i_; }

double Value::as_double() const {
  if (is_float()) return d_;
  return static_cast<double>(as_int());
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::undefined:
    case Kind::none: return false;
    case Kind::boolean: return b_;
    case Kind::integer: return i_ != 0;
    case Kind::floating: return d_ != 0.0;
    case Kind::string: return !text().empty();
    case Kind::list:
    case Kind::tuple: return !list_->empty();
    case Kind::dict: return !dict_->entries.empty();
    case Kind::function:
    case Kind::ns: return true;
  }
  return false;
}

std::string format_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  std::size_t e_pos = sci.find('e');
  std::string digits;
  for (std::size_t i = 0; i < e_pos; ++i)
    if (sci[i] != '.') digits.push_back(sci[i]);
  int exp = std::stoi(sci.substr(e_pos + 1));
  // Python's repr: positional notation for 1e-4 <= |d| < 1e16, otherwise scientific.
  if (exp < -4 || exp >= 16) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    return out + e;
  }
  std::string out;
  if (exp < 0) {
    out = "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
  } else {
    auto int_len = static_cast<std::size_t>(exp) + 1;
    if (digits.size() <= int_len) {
      out = digits + std::string(int_len - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
  }
  return sign + out;
}

std::string quote_string(const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char q = has_single && !has_double ? '"' : '\'';
  std::string out(1, q);
  for (char32_t c : utf8_decode(s)) {
    if (c == static_cast<char32_t>(q) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c) & 0xFFu);
      out += buf;
    } else {
      out += utf8_encode(std::u32string_view(&c, 1));
    }
  }
  out.push_back(q);
  return out;
}

std::string Value::repr(int depth) const {
  switch (kind_) {
    case Kind::string: return quote_string(text());
    case Kind::undefined: return "";
    default: return str(depth);
  }
}

std::string Value::str(int depth) const {
  if (depth > kMaxValueDepth) fail("value nested too deeply to print");
  switch (kind_) {
    case Kind::undefined: return "";
    case Kind::none: return "None";
    case Kind::boolean: return b_ ? "True" : "False";
    case Kind::integer: return std::to_string(i_);
    case Kind::floating: return format_float(d_);
    case Kind::string: return text();
    case Kind::list:
    case Kind::tuple: {
      bool tuple = kind_ == Kind::tuple;
      std::string out = tuple ? "(" : "[";
      for (std::size_t i = 0; i < list_->size(); ++i) {
        if (i) out += ", ";
        out += (*list_)[i].repr(depth + 1);
      }
      if (tuple && list_->size() == 1) out += ",";
      return out + (tuple ? ")" : "]");
    }
    case Kind::dict: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : dict_->entries) {
        if (!first) out += ", ";
        first = false;
        out += k.repr(depth + 1) + ": " + v.repr(depth + 1);
      }
      return out + "}";
    }
    case Kind::function: return "<function " + text() + ">";
    case Kind::ns: return "<Namespace>";
  }
  return "";
}

std::string Value::type_name() const {
  switch (kind_) {
    case Kind::undefined: return "Undefined";
    case Kind::none: return "NoneType";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::floating: return "float";
    case Kind::string: return "str";
    case Kind::list: return "list";
    case Kind::tuple: return "tuple";
    case Kind::dict: return "dict";
    case Kind::function: return "function";
    case Kind::ns: return "Namespace";
  }
  return "object";
}

List Value::iterate() const {
  switch (kind_) {
    case Kind::undefined: return {};
    case Kind::list:
    case Kind::tuple: return *list_;
    case Kind::dict: {
      List keys;
      for (const auto& [k, v] : dict_->entries) keys.push_back(k);
      return keys;
    }
    case Kind::string: {
      List chars;
      for (char32_t c : utf8_decode(text())) chars.emplace_back(utf8_encode(std::u32string_view(&c, 1)));
      return chars;
    }
    default: fail("'" + type_name() + "' object is not iterable");
  }
}

namespace {
std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[16];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c) & 0xFFu);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "\"";
}

std::string json_key(const Value& k) {
  // json.dumps turns non-string keys into strings the way JSON spells them.
  switch (k.kind()) {
    case Value::Kind::string: return k.as_string();
    case Value::Kind::none: return "null";
    case Value::Kind::boolean: return k.as_bool() ? "true" : "false";
    case Value::Kind::integer:
    case Value::Kind::floating: return k.str();
    default: fail("keys must be str, int, float, bool or None, not " + k.type_name());
  }
}
}  // namespace

std::string dump_json(const Value& v, const JsonStyle& style, int depth) {
  if (depth > 200) fail("tojson: value nested too deeply");
  std::string nl, pad, pad_in;
  if (style.pretty) {
    nl = "\n";
    for (int i = 0; i < depth; ++i) pad += style.indent;
    pad_in = pad + style.indent;
  }
  switch (v.kind()) {
    case Value::Kind::none: return "null";
    case Value::Kind::boolean: return v.as_bool() ? "true" : "false";
    case Value::Kind::integer: return v.str();
    case Value::Kind::floating: {
      double d = v.as_double();
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d < 0 ? "-Infinity" : "Infinity";
      return format_float(d);
    }
    case Value::Kind::string: return json_string(v.as_string());
    case Value::Kind::list:
    case Value::Kind::tuple: {
      if (v.items().empty()) return "[]";
      std::string out = "[" + nl;
      for (std::size_t i = 0; i < v.items().size(); ++i) {
        if (i) out += style.item_separator + nl;
        out += pad_in + dump_json(v.items()[i], style, depth + 1);
      }
      return out + nl + pad + "]";
    }
    case Value::Kind::dict: {
      if (v.entries().entries.empty()) return "{}";
      std::vector<std::pair<std::string, const Value*>> items;
      for (const auto& [k, val] : v.entries().entries) items.emplace_back(json_key(k), &val);
      if (style.sort_keys)
        std::stable_sort(items.begin(), items.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
      std::string out = "{" + nl;
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += style.item_separator + nl;
        out +=
            pad_in + json_string(items[i].first) + style.key_separator + dump_json(*items[i].second, style, depth + 1);
      }
      return out + nl + pad + "}";
    }
    default: fail("Object of type " + v.type_name() + " is not JSON serializable");
  }
}

std::string json_ensure_ascii(const std::string& json) {
  std::string out;
  for (char32_t c : utf8_decode(json)) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    auto put = [&](unsigned unit) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\u%04x", unit & 0xFFFFu);
      out += buf;
    };
    if (c >= 0x10000) {
      put(0xD800 + ((c - 0x10000) >> 10));
      put(0xDC00 + ((c - 0x10000) & 0x3FF));
    } else {
      put(static_cast<unsigned>(c));
    }
  }
  return out;
}

bool equals(const Value& a, const Value& b, int depth) {
  if (depth > kMaxValueDepth) fail("values nested too deeply to compare");
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.is_list() && b.is_list()) {
    if (a.kind() != b.kind() || a.items().size() != b.items().size()) return false;
    for (std::size_t i = 0; i < a.items().size(); ++i)
      if (!equals(a.items()[i], b.items()[i], depth + 1)) return false;
    return true;
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::undefined:
    case Value::Kind::none: return true;
    case Value::Kind::string: return a.as_string() == b.as_string();
    case Value::Kind::dict: {
      const auto& x = a.entries().entries;
      if (x.size() != b.entries().entries.size()) return false;
      for (const auto& [k, v] : x) {
        const Value* other = b.entries().find(k);
        if (!other || !equals(v, *other, depth + 1)) return false;
      }
      return true;
    }
    case Value::Kind::function: return &a.function() == &b.function();
    case Value::Kind::ns: return &a.entries() == &b.entries();
    default: return false;
  }
}

bool less(const Value& a, const Value& b, int depth) {
  if (depth > kMaxValueDepth) fail("values nested too deeply to compare");
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() < b.as_double();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
  if (a.is_list() && b.is_list() && a.kind() == b.kind()) {
    const auto& x = a.items();
    const auto& y = b.items();
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (less(x[i], y[i], depth + 1)) return true;
      if (less(y[i], x[i], depth + 1)) return false;
    }
    return x.size() < y.size();
  }
  fail("'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
}

}  // namespace tessera::runtime::jinja
