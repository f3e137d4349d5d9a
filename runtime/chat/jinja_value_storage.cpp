// Making, owning and releasing values. Strings, lists and dicts made while a render runs are
// charged to its memory ledger (RenderLimits::max_value_bytes) and give their bytes back when
// freed; containers are counted so that tests can see a render leaks none.
#include <atomic>

#include "runtime/chat/jinja_budget.hpp"
#include "runtime/chat/jinja_value.hpp"

namespace tessera::runtime::jinja {

namespace {

std::atomic<std::int64_t> g_live_containers{0};

// Shared by the deleters: what a value charged, returned to its ledger when it is freed.
struct Charge {
  std::shared_ptr<Ledger> ledger;
  std::size_t bytes = 0;
  void release() const {
    if (ledger) ledger->live -= bytes;
  }
};

template <typename T>
struct ContainerRelease {
  Charge charge;
  void operator()(T* p) const {
    charge.release();
    --g_live_containers;
    delete p;
  }
};

struct TextRelease {
  Charge charge;
  void operator()(const Text* p) const {
    charge.release();
    delete p;
  }
};

template <typename T>
std::shared_ptr<T> make_container(T contents, std::size_t bytes) {
  Charge charge{charge_memory(bytes), bytes};
  ++g_live_containers;
  try {
    return std::shared_ptr<T>(new T(std::move(contents)), ContainerRelease<T>{charge});
  } catch (...) {
    // shared_ptr's constructor frees what it was given when it throws; only `new` is left.
    --g_live_containers;
    charge.release();
    throw;
  }
}

std::shared_ptr<const Text> make_text(std::string s) {
  // Outside a render (template literals, the variables) nothing is charged or checked.
  if (!Budget::current()) return std::make_shared<const Text>(std::move(s));
  check_string_size(s.size());
  charge_scan(s.size());
  std::size_t bytes = s.size() + sizeof(Text);
  Charge charge{charge_memory(bytes), bytes};
  try {
    return std::shared_ptr<const Text>(new Text(std::move(s)), TextRelease{charge});
  } catch (...) {
    charge.release();
    throw;
  }
}

}  // namespace

std::int64_t live_containers() { return g_live_containers.load(); }

const Value* CallArgs::get(std::size_t index, std::string_view name) const {
  for (const auto& [k, v] : keyword)
    if (k == name) return &v;
  return index < positional.size() ? &positional[index] : nullptr;
}

Value Value::undefined(std::string hint) {
  Value v;
  if (!hint.empty()) v.s_ = std::make_shared<const Text>(std::move(hint));
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
Value::Value(std::string s) : kind_(Kind::string), s_(make_text(std::move(s))) {}

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
  return s_ ? s_->bytes() : empty;
}

Value Value::list(List items) {
  if (Budget::current()) check_list_size(items.size());
  Value v;
  v.kind_ = Kind::list;
  std::size_t bytes = items.size() * sizeof(Value);
  v.list_ = make_container(std::move(items), bytes);
  return v;
}

Value Value::tuple(List items) {
  Value v = list(std::move(items));
  v.kind_ = Kind::tuple;
  return v;
}

Value Value::dict(Dict d) {
  if (Budget::current()) check_list_size(d.entries.size());
  Value v;
  v.kind_ = Kind::dict;
  std::size_t bytes = d.entries.size() * 2 * sizeof(Value);
  v.dict_ = make_container(std::move(d), bytes);
  return v;
}

Value Value::function(std::string name, Function f) {
  Value v;
  v.kind_ = Kind::function;
  v.s_ = std::make_shared<const Text>(std::move(name));
  v.fn_ = std::make_shared<Function>(std::move(f));
  return v;
}

Value Value::namespace_object(Dict attributes) {
  Value v = dict(std::move(attributes));
  v.kind_ = Kind::ns;
  if (Budget* budget = Budget::current()) budget->adopt_namespace(v.dict_);
  return v;
}

void Value::append(Value item) const {
  check_list_size(list_->size() + 1);
  // The list's deleter returns what it charged, so growth is charged to the same ledger.
  auto* release = std::get_deleter<ContainerRelease<List>>(list_);
  if (release && release->charge.ledger && Budget::current() &&
      release->charge.ledger == Budget::current()->ledger()) {
    charge_memory(sizeof(Value));
    release->charge.bytes += sizeof(Value);
  }
  list_->push_back(std::move(item));
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

}  // namespace tessera::runtime::jinja
