#include "runtime/chat/jinja_value.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "runtime/chat/jinja_budget.hpp"
#include "runtime/chat/jinja_text.hpp"

namespace tessera::runtime::jinja {

namespace {
[[noreturn]] void fail(const std::string& message) { throw RenderError(message); }
}  // namespace

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
  out.reserve(s.size() + 2);
  for (std::size_t i = 0; i < s.size();) {
    char32_t c = 0;
    std::size_t next = utf8_next(s, i, c);
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
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c == 0xFFFD) {
      out += utf8_encode(std::u32string_view(&c, 1));  // an invalid byte, or U+FFFD itself
    } else {
      out.append(s, i, next - i);  // valid UTF-8 is copied as it is
    }
    i = next;
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
        // Checked as it grows: a list that shares one long string a million times, or a
        // doubled list of lists, prints far more than it holds.
        charge_steps(1);
        if (i) out += ", ";
        out += (*list_)[i].repr(depth + 1);
        check_string_size(out.size());
      }
      if (tuple && list_->size() == 1) out += ",";
      return out + (tuple ? ")" : "]");
    }
    case Kind::dict: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : dict_->entries) {
        charge_steps(1);
        if (!first) out += ", ";
        first = false;
        out += k.repr(depth + 1);
        out += ": ";
        out += v.repr(depth + 1);
        check_string_size(out.size());
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
      check_list_size(s_->length());
      charge_steps(s_->length());
      List chars;
      chars.reserve(s_->length());
      std::string_view bytes = text();
      for (std::size_t i = 0; i < bytes.size();) {
        char32_t c = 0;
        i = utf8_next(bytes, i, c);
        chars.emplace_back(utf8_encode(std::u32string_view(&c, 1)));
      }
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
  charge_steps(1);
  std::string nl, pad, pad_in;
  if (style.pretty) {
    nl = "\n";
    // A long indent string repeated at each level would outgrow any limit before a check.
    check_string_size((static_cast<std::size_t>(depth) + 1) * style.indent.size());
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
        out += pad_in;
        out += dump_json(v.items()[i], style, depth + 1);
        check_string_size(out.size());
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
        out += pad_in;
        out += json_string(items[i].first);
        out += style.key_separator;
        out += dump_json(*items[i].second, style, depth + 1);
        check_string_size(out.size());
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
  charge_steps(1);
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
    case Value::Kind::string:
      charge_scan(std::min(a.as_string().size(), b.as_string().size()));
      return a.as_string() == b.as_string();
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
  charge_steps(1);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() < b.as_double();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) {
    charge_scan(std::min(a.as_string().size(), b.as_string().size()));
    return a.as_string() < b.as_string();
  }
  if (a.is_list() && b.is_list() && a.kind() == b.kind()) {
    const auto& x = a.items();
    const auto& y = b.items();
    // As Python: the first unequal items decide (comparing both ways instead would take time
    // exponential in the depth of nested lists).
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i)
      if (!equals(x[i], y[i], depth + 1)) return less(x[i], y[i], depth + 1);
    return x.size() < y.size();
  }
  fail("'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
}

}  // namespace tessera::runtime::jinja
