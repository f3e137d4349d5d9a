// Dict lookups and the hashing behind them.
#include <cmath>
#include <functional>
#include <string_view>

#include "runtime/chat/jinja_budget.hpp"
#include "runtime/chat/jinja_value.hpp"

namespace tessera::runtime::jinja {

namespace {
std::size_t mix(std::size_t seed, std::size_t h) { return seed ^ (h + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2)); }
}  // namespace

std::size_t hash_value(const Value& v, int depth) {
  charge_steps(1);
  switch (v.kind()) {
    case Value::Kind::undefined: return 0x51;
    case Value::Kind::none: return 0x52;
    case Value::Kind::boolean:
    case Value::Kind::integer:
    case Value::Kind::floating: {
      // Numbers that compare equal hash alike: exact integers (within 2^53, where doubles hold
      // every integer) as int64, everything else as the double equals compares them as.
      constexpr double kExact = 9007199254740992.0;
      double d = v.as_double();
      if (!v.is_float() && std::fabs(d) <= kExact) return std::hash<std::int64_t>()(v.as_int());
      if (v.is_float() && std::trunc(d) == d && std::fabs(d) <= kExact)
        return std::hash<std::int64_t>()(static_cast<std::int64_t>(d));
      return std::hash<double>()(d);
    }
    case Value::Kind::string:
      charge_scan(v.as_string().size());
      return std::hash<std::string_view>()(v.as_string());
    case Value::Kind::list:
    case Value::Kind::tuple: {
      std::size_t h = v.kind() == Value::Kind::list ? 0x61 : 0x62;
      // Deeper parts only refine the hash; equals still decides.
      if (depth >= 8) return h;
      for (const auto& item : v.items()) h = mix(h, hash_value(item, depth + 1));
      return h;
    }
    case Value::Kind::dict: {
      // Order-independent, as dict equality is.
      std::size_t h = 0x63;
      if (depth >= 8) return h;
      for (const auto& [key, item] : v.entries().entries) h += mix(hash_value(key, depth + 1), hash_value(item, depth + 1));
      return h;
    }
    case Value::Kind::function: return std::hash<const void*>()(&v.function());
    case Value::Kind::ns: return std::hash<const void*>()(&v.entries());
  }
  return 0;
}

std::size_t Dict::lookup(const Value& key) const {
  if (entries.size() < kIndexFrom || (indexed_ == 0 && ++linear_lookups_ <= kLinearLookups)) {
    charge_steps(entries.size() >> 4);
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (equals(entries[i].first, key)) return i;
    return entries.size();
  }
  for (; indexed_ < entries.size(); ++indexed_) index_.emplace(hash_value(entries[indexed_].first), indexed_);
  auto [begin, end] = index_.equal_range(hash_value(key));
  std::size_t found = entries.size();
  // Equal keys share a hash; the first stored wins, as with linear search.
  for (auto it = begin; it != end; ++it)
    if (it->second < found && equals(entries[it->second].first, key)) found = it->second;
  return found;
}

const Value* Dict::find(const Value& key) const {
  std::size_t i = lookup(key);
  return i < entries.size() ? &entries[i].second : nullptr;
}

Value* Dict::find(const Value& key) {
  std::size_t i = lookup(key);
  return i < entries.size() ? &entries[i].second : nullptr;
}

void Dict::set(Value key, Value value) {
  if (Value* existing = find(key)) {
    *existing = std::move(value);
    return;
  }
  entries.emplace_back(std::move(key), std::move(value));
}

void Dict::clear() {
  // Moved out first: freeing the entries may reach back into this dict through a cycle.
  std::vector<std::pair<Value, Value>> doomed = std::move(entries);
  entries.clear();
  index_.clear();
  indexed_ = 0;
  linear_lookups_ = 0;
}

}  // namespace tessera::runtime::jinja
