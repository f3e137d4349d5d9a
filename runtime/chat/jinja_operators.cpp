// Python's operators on template values: arithmetic, concatenation, repetition and `in`.
#include <cmath>
#include <cstdint>

#include "runtime/chat/jinja_builtins.hpp"

namespace tessera::runtime::jinja {

namespace {

std::int64_t checked(bool overflow, std::int64_t v) {
  if (overflow) fail("integer overflow: Python's integers are unbounded, tessera's are 64-bit");
  return v;
}

// `seq * times`, refused before anything is built when the result would pass the limits.
Value repeat(const Value& seq, std::int64_t times) {
  if (times < 0) times = 0;
  auto n = static_cast<std::uint64_t>(times);
  if (seq.is_string()) {
    const std::string& s = seq.as_string();
    if (!s.empty()) check_string_size(n > current_limits().max_string_bytes / s.size() ? SIZE_MAX : n * s.size());
    std::string out;
    out.reserve(n * s.size());
    for (std::uint64_t i = 0; i < n; ++i) out += s;
    return Value(std::move(out));
  }
  const List& items = seq.items();
  if (!items.empty()) check_list_size(n > current_limits().max_list_length / items.size() ? SIZE_MAX : n * items.size());
  charge_steps(n * items.size());
  List out;
  out.reserve(n * items.size());
  for (std::uint64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return seq.kind() == Value::Kind::tuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  fail("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
}

// Python's floor division and modulo take the sign of the divisor.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

Value negate(const Value& v) {
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_float()) return Value(-v.as_double());
  if (v.is_int() || v.is_bool()) {
    checked(v.as_int() == INT64_MIN, 0);  // before negating: -INT64_MIN is undefined
    return Value(-v.as_int());
  }
  fail("bad operand type for unary -: '" + v.type_name() + "'");
}

Value binary_op(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") return Value(checked_size(a.str() + b.str()));
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  bool numbers = a.is_number() && b.is_number();
  bool floats = numbers && (a.is_float() || b.is_float());
  if (op == "+") {
    if (numbers && floats) return Value(a.as_double() + b.as_double());
    if (numbers) {
      std::int64_t r = 0;
      bool overflow = __builtin_add_overflow(a.as_int(), b.as_int(), &r);
      return Value(checked(overflow, r));
    }
    if (a.is_string() && b.is_string()) return Value(checked_size(a.as_string() + b.as_string()));
    if (a.is_list() && b.is_list() && a.kind() == b.kind()) {
      check_list_size(a.items().size() + b.items().size());
      charge_steps(a.items().size() + b.items().size());
      List out = a.items();
      out.insert(out.end(), b.items().begin(), b.items().end());
      return a.kind() == Value::Kind::tuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
    }
    if (a.is_string()) fail("can only concatenate str (not \"" + b.type_name() + "\") to str");
    unsupported(op, a, b);
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool())) return repeat(a, b.as_int());
    if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool())) return repeat(b, a.as_int());
  }
  if (!numbers) unsupported(op, a, b);
  if (op == "-") {
    if (floats) return Value(a.as_double() - b.as_double());
    std::int64_t r = 0;
    bool overflow = __builtin_sub_overflow(a.as_int(), b.as_int(), &r);
    return Value(checked(overflow, r));
  }
  if (op == "*") {
    if (floats) return Value(a.as_double() * b.as_double());
    std::int64_t r = 0;
    bool overflow = __builtin_mul_overflow(a.as_int(), b.as_int(), &r);
    return Value(checked(overflow, r));
  }
  if (op == "/") {
    if (b.as_double() == 0.0) fail("division by zero");
    return Value(a.as_double() / b.as_double());
  }
  if (op == "//" || op == "%") {
    if (b.as_double() == 0.0) fail(op == "//" ? "integer division or modulo by zero" : "modulo by zero");
    if (floats) {
      // CPython's float divmod, so results match to the last bit.
      double x = a.as_double(), y = b.as_double();
      double mod = std::fmod(x, y);
      double div = (x - mod) / y;
      if (mod != 0.0) {
        if ((y < 0) != (mod < 0)) {
          mod += y;
          div -= 1.0;
        }
      } else {
        mod = std::copysign(0.0, y);
      }
      if (op == "%") return Value(mod);
      double floordiv = std::copysign(0.0, x / y);
      if (div != 0.0) {
        floordiv = std::floor(div);
        if (div - floordiv > 0.5) floordiv += 1.0;
      }
      return Value(floordiv);
    }
    std::int64_t x = a.as_int(), y = b.as_int();
    if (op == "%") {
      if (y == -1) return Value(std::int64_t{0});  // x % -1 is UB in C++ for INT64_MIN
      // Computed from C++'s remainder: x - floor(x / y) * y can overflow where the result cannot.
      std::int64_t r = x % y;
      return Value(r != 0 && (r < 0) != (y < 0) ? r + y : r);
    }
    if (x == INT64_MIN && y == -1) fail("integer overflow: Python's integers are unbounded, tessera's are 64-bit");
    return Value(floor_div(x, y));
  }
  if (op == "**") {
    if (!floats && b.as_int() >= 0) {
      std::int64_t result = 1, base = a.as_int();
      for (std::int64_t e = b.as_int(); e > 0; --e) {
        checked(__builtin_mul_overflow(result, base, &result), 0);
        if (result == 0 || result == 1) break;
        if (result == -1) {
          result = (e - 1) % 2 == 0 ? -1 : 1;
          break;
        }
      }
      return Value(result);
    }
    return Value(std::pow(a.as_double(), b.as_double()));
  }
  fail("unknown operator " + op);
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::undefined: return false;
    case Value::Kind::string:
      if (!item.is_string()) fail("'in <string>' requires string as left operand, not " + item.type_name());
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::list:
    case Value::Kind::tuple:
      for (const auto& v : container.items())
        if (equals(v, item)) return true;
      return false;
    case Value::Kind::dict:
    case Value::Kind::ns: return container.entries().find(item) != nullptr;
    default: fail("argument of type '" + container.type_name() + "' is not iterable");
  }
}

}  // namespace tessera::runtime::jinja
