#include "runtime/chat/jinja_interpreter.hpp"

#include <algorithm>
#include <ctime>
#include <memory>
#include <unordered_map>

#include "runtime/chat/jinja_budget.hpp"
#include "runtime/chat/jinja_builtins.hpp"
#include "runtime/core/error.hpp"

namespace tessera::runtime::jinja {

namespace {


struct Frame {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Frame> parent;
};
using FramePtr = std::shared_ptr<Frame>;

enum class Flow { normal, break_loop, continue_loop };

class Interpreter {
 public:
  explicit Interpreter(Budget& budget) : budget_(budget), limits_(budget.limits()) {}

  std::string run(const Body& body, const Dict& variables) {
    auto globals = std::make_shared<Frame>();
    install_globals(*globals);
    auto top = std::make_shared<Frame>();
    top->parent = globals;
    for (const auto& [k, v] : variables.entries) top->vars[k.str()] = v;
    std::string out;
    out_ = &out;
    exec_body(body, top);
    return out;
  }

 private:
  Budget& budget_;
  const RenderLimits& limits_;
  std::string* out_ = nullptr;
  std::vector<FramePtr> macro_frames_;
  int nesting_ = 0;

  // Counts one evaluation against the step budget and bounds how deeply evaluations nest
  // (each level is several C++ stack frames).
  struct Nest {
    Interpreter& in;
    explicit Nest(Interpreter& i) : in(i) {
      if (++in.nesting_ > in.limits_.max_depth) {
        --in.nesting_;
        fail("template recursion too deep: more than " + with_commas(static_cast<std::uint64_t>(in.limits_.max_depth)) +
             " nested evaluations (max_depth)");
      }
      in.budget_.step();
    }
    ~Nest() { --in.nesting_; }
  };

  [[noreturn]] static void located(int line, int column, const std::string& what) {
    throw Error(ErrorCategory::chat_template, "chat template error at line " + std::to_string(line) + ", column " +
                                                  std::to_string(column) + ": " + what);
  }

  void emit(const std::string& s) {
    if (out_->size() + s.size() > limits_.max_output_bytes)
      fail("template output too large: over the chat template limit of " + with_commas(limits_.max_output_bytes) +
           " bytes (max_output_bytes)");
    budget_.step(s.size() >> 8);
    out_->append(s);
  }

  void install_globals(Frame& g) {
    g.vars["raise_exception"] = Value::function("raise_exception", [](const CallArgs& a) -> Value {
      const Value* m = a.get(0, "message");
      fail(m ? m->str() : "raise_exception called");
    });
    g.vars["strftime_now"] = Value::function("strftime_now", [](const CallArgs& a) -> Value {
      std::string format = to_string_arg(a.get(0, "format"), "strftime_now format");
      std::time_t now = std::time(nullptr);
      std::tm local{};
      localtime_r(&now, &local);
      char buf[512];
      std::size_t n = std::strftime(buf, sizeof buf, format.c_str(), &local);
      return Value(std::string(buf, n));
    });
    g.vars["namespace"] = Value::function("namespace", [](const CallArgs& a) {
      Dict attrs;
      for (const auto& p : a.positional) {
        if (!p.is_dict()) fail("namespace() positional arguments must be mappings");
        for (const auto& [k, v] : p.entries().entries) attrs.set(k, v);
      }
      for (const auto& [k, v] : a.keyword) attrs.set(Value(k), v);
      return Value::namespace_object(std::move(attrs));
    });
    g.vars["dict"] = Value::function("dict", [](const CallArgs& a) {
      Dict d;
      for (const auto& p : a.positional) {
        if (!p.is_dict()) fail("dict() positional argument must be a mapping");
        charge_steps(p.entries().entries.size());
        // A mapping's keys are distinct already: the first is copied without lookups.
        if (d.entries.empty()) {
          d.entries = p.entries().entries;
          continue;
        }
        for (const auto& [k, v] : p.entries().entries) d.set(k, v);
      }
      for (const auto& [k, v] : a.keyword) d.set(Value(k), v);
      return Value::dict(std::move(d));
    });
    const RenderLimits& limits = limits_;
    Budget& budget = budget_;
    g.vars["range"] = Value::function("range", [&limits, &budget](const CallArgs& a) {
      std::int64_t start = 0, stop = 0, step = 1;
      if (a.positional.size() == 1) {
        stop = to_int_arg(&a.positional[0], 0, "range stop");
      } else if (a.positional.size() >= 2) {
        start = to_int_arg(&a.positional[0], 0, "range start");
        stop = to_int_arg(&a.positional[1], 0, "range stop");
        if (a.positional.size() >= 3) step = to_int_arg(&a.positional[2], 1, "range step");
      } else {
        fail("range expected at least 1 argument");
      }
      if (step == 0) fail("range() arg 3 must not be zero");
      // Python's len(range(...)), worked out in unsigned arithmetic: stepping a signed counter
      // past the stop would overflow.
      std::uint64_t length = 0;
      if (step > 0 && start < stop)
        length = (static_cast<std::uint64_t>(stop) - static_cast<std::uint64_t>(start) - 1) /
                     static_cast<std::uint64_t>(step) + 1;
      if (step < 0 && start > stop)
        length = (static_cast<std::uint64_t>(start) - static_cast<std::uint64_t>(stop) - 1) /
                     (0 - static_cast<std::uint64_t>(step)) + 1;
      auto max_length = static_cast<std::uint64_t>(std::max<std::int64_t>(limits.max_range_length, 0));
      if (length > max_length)
        fail("range too big: " + with_commas(length) + " items, over the chat template limit of " +
             with_commas(max_length) + " (max_range_length)");
      budget.step(length);
      List out;
      out.reserve(length);
      // Each item is below stop (above it for negative steps), so start + i * step fits.
      for (std::uint64_t i = 0; i < length; ++i)
        out.emplace_back(static_cast<std::int64_t>(static_cast<std::uint64_t>(start) + i * static_cast<std::uint64_t>(step)));
      return Value::list(std::move(out));
    });
  }

  // Variables -------------------------------------------------------------------------------

  static Value lookup(const FramePtr& frame, const std::string& name) {
    for (const Frame* f = frame.get(); f; f = f->parent.get()) {
      auto it = f->vars.find(name);
      if (it != f->vars.end()) return it->second;
    }
    return Value::undefined("'" + name + "' is undefined");
  }

  static void assign(const Target& target, const Value& value, const FramePtr& frame) {
    if (!target.attribute.empty()) {
      Value ns = lookup(frame, target.names[0]);
      if (!ns.is_namespace()) fail("cannot assign attribute on non-namespace object");
      ns.entries().set(Value(target.attribute), value);
      return;
    }
    if (target.names.size() == 1) {
      frame->vars[target.names[0]] = value;
      return;
    }
    List parts = value.iterate();
    if (parts.size() != target.names.size())
      fail(std::string(parts.size() < target.names.size() ? "not enough" : "too many") +
           " values to unpack (expected " + std::to_string(target.names.size()) + ")");
    for (std::size_t i = 0; i < parts.size(); ++i) frame->vars[target.names[i]] = parts[i];
  }

  // Statements ------------------------------------------------------------------------------

  Flow exec_body(const Body& body, const FramePtr& frame) {
    for (const auto& s : body) {
      Flow f = exec(*s, frame);
      if (f != Flow::normal) return f;
    }
    return Flow::normal;
  }

  std::string capture(const Body& body, const FramePtr& frame) {
    std::string buffer;
    std::string* saved = out_;
    out_ = &buffer;
    try {
      exec_body(body, frame);
    } catch (...) {
      out_ = saved;
      throw;
    }
    out_ = saved;
    return buffer;
  }

  Flow exec(const Stmt& s, const FramePtr& frame) {
    try {
      Nest nest(*this);
      return exec_inner(s, frame);
    } catch (const RenderError& e) {
      located(s.line, s.column, e.what());
    }
  }

  Flow exec_inner(const Stmt& s, const FramePtr& frame) {
    switch (s.kind) {
      case Stmt::Kind::text: emit(s.text); return Flow::normal;
      case Stmt::Kind::output: emit(eval(*s.expr, frame).str()); return Flow::normal;
      case Stmt::Kind::if_:
        for (std::size_t i = 0; i < s.bodies.size(); ++i)
          if (!s.conditions[i] || eval(*s.conditions[i], frame).truthy()) return exec_body(s.bodies[i], frame);
        return Flow::normal;
      case Stmt::Kind::for_: return exec_for(s, frame);
      case Stmt::Kind::set: assign(s.target, eval(*s.expr, frame), frame); return Flow::normal;
      case Stmt::Kind::set_block: {
        Value body(capture(s.bodies[0], frame));
        if (s.expr) body = eval_with_body(*s.expr, body, frame);
        assign(s.target, body, frame);
        return Flow::normal;
      }
      case Stmt::Kind::macro: frame->vars[s.target.names[0]] = make_macro(s, frame); return Flow::normal;
      case Stmt::Kind::call_block: {
        const Expr& call = *s.expr;
        Value caller = make_macro(s, frame, "caller");
        CallArgs args = eval_args(call, frame);
        args.keyword.emplace_back("caller", caller);
        Value callee = eval(*call.args[0], frame);
        emit(invoke(callee, args).str());
        return Flow::normal;
      }
      case Stmt::Kind::filter_block:
        emit(eval_with_body(*s.expr, Value(capture(s.bodies[0], frame)), frame).str());
        return Flow::normal;
      case Stmt::Kind::body: return exec_body(s.bodies[0], frame);
      case Stmt::Kind::break_: return Flow::break_loop;
      case Stmt::Kind::continue_: return Flow::continue_loop;
    }
    return Flow::normal;
  }

  Value eval_with_body(const Expr& chain, Value body, const FramePtr& frame) {
    auto scope = std::make_shared<Frame>();
    scope->parent = frame;
    scope->vars[kFilterBodyName] = std::move(body);
    return eval(chain, scope);
  }

  Flow exec_for(const Stmt& s, const FramePtr& frame) {
    Value sequence = eval(*s.expr, frame);
    // A list nothing else holds (a fresh range or filter result) cannot change while the loop
    // runs, so its items are taken rather than copied.
    List items = sequence.is_list() && sequence.uniquely_owned() ? std::move(sequence.items()) : sequence.iterate();
    if (s.conditions[0]) {
      List kept;
      for (const auto& item : items) {
        auto scope = std::make_shared<Frame>();
        scope->parent = frame;
        assign(s.target, item, scope);
        if (eval(*s.conditions[0], scope).truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) return exec_body(s.bodies[1], frame);
    auto n = static_cast<std::int64_t>(items.size());
    // loop.cycle reads the current index through a shared counter, built once per loop.
    auto index = std::make_shared<std::int64_t>(0);
    Value cycle = Value::function("cycle", [index](const CallArgs& a) {
      if (a.positional.empty()) fail("no items for cycling given");
      return a.positional[static_cast<std::size_t>(*index) % a.positional.size()];
    });
    // Keys and the no-item markers are made once: allocating them per iteration dominated tight
    // loops.
    static const Value keys[] = {"index",  "index0", "revindex", "revindex0", "first",    "last",
                                 "length", "depth",  "depth0",   "previtem",  "nextitem", "cycle"};
    static const Value no_previous = Value::undefined("there is no previous item");
    static const Value no_next = Value::undefined("there is no next item");
    FramePtr scope;
    Value loop;
    for (std::int64_t i = 0; i < n; ++i) {
      // Counted here too: an empty loop body evaluates nothing that would count.
      budget_.step();
      *index = i;
      // Each iteration gets a fresh scope: jinja2 does not carry `set` across iterations. The
      // last one is emptied and reused unless something (a macro defined in it) still holds it.
      if (scope && scope.use_count() == 1) {
        scope->vars.clear();
      } else {
        scope = std::make_shared<Frame>();
        scope->parent = frame;
      }
      // Likewise the loop object is updated in place unless the body kept a reference to it.
      if (loop.is_undefined() || !loop.uniquely_owned()) {
        Dict d;
        for (const auto& k : keys) d.entries.emplace_back(k, Value());
        loop = Value::dict(std::move(d));
      }
      auto& e = loop.entries().entries;
      auto at = [&](std::size_t k) { return &e[k].second; };
      *at(0) = Value(i + 1);
      *at(1) = Value(i);
      *at(2) = Value(n - i);
      *at(3) = Value(n - i - 1);
      *at(4) = Value(i == 0);
      *at(5) = Value(i == n - 1);
      *at(6) = Value(n);
      *at(7) = Value(std::int64_t{1});
      *at(8) = Value(std::int64_t{0});
      *at(9) = i > 0 ? items[static_cast<std::size_t>(i - 1)] : no_previous;
      *at(10) = i + 1 < n ? items[static_cast<std::size_t>(i + 1)] : no_next;
      *at(11) = cycle;
      assign(s.target, items[static_cast<std::size_t>(i)], scope);
      scope->vars["loop"] = loop;
      if (exec_body(s.bodies[0], scope) == Flow::break_loop) break;
    }
    return Flow::normal;
  }

  Value make_macro(const Stmt& s, const FramePtr& closure, std::string name = {}) {
    if (name.empty()) name = s.target.names[0];
    const Stmt* def = &s;
    // The frame holds the macro, so the macro holds the frame weakly; macro_frames_ keeps it alive.
    macro_frames_.push_back(closure);
    std::weak_ptr<Frame> weak = closure;
    return Value::function(name, [this, def, weak, name](const CallArgs& args) {
      auto scope = std::make_shared<Frame>();
      scope->parent = weak.lock();
      if (args.positional.size() > def->params.size())
        fail("macro '" + name + "' takes not more than " + std::to_string(def->params.size()) + " argument(s)");
      for (std::size_t i = 0; i < def->params.size(); ++i) {
        const auto& [param, fallback] = def->params[i];
        if (const Value* v = args.get(i, param)) {
          scope->vars[param] = *v;
        } else {
          scope->vars[param] =
              fallback ? eval(*fallback, scope) : Value::undefined("parameter '" + param + "' was not provided");
        }
      }
      for (const auto& [k, v] : args.keyword) {
        bool known = k == "caller";
        for (const auto& p : def->params) known = known || p.first == k;
        if (!known) fail("macro '" + name + "' takes no keyword argument '" + k + "'");
        if (k == "caller") scope->vars["caller"] = v;
      }
      return Value(capture(def->bodies[0], scope));
    });
  }

  // Expressions -----------------------------------------------------------------------------

  Value eval(const Expr& e, const FramePtr& frame) {
    try {
      Nest nest(*this);
      return eval_inner(e, frame);
    } catch (const RenderError& err) {
      located(e.line, e.column, err.what());
    }
  }

  CallArgs eval_args(const Expr& e, const FramePtr& frame) {
    CallArgs args;
    for (std::size_t i = 1; i < e.args.size(); ++i) args.positional.push_back(eval(*e.args[i], frame));
    for (const auto& [k, v] : e.kwargs) args.keyword.emplace_back(k, eval(*v, frame));
    return args;
  }

  static Value invoke(const Value& callee, const CallArgs& args) {
    if (callee.is_undefined())
      fail(callee.undefined_hint().empty() ? "calling an undefined value" : callee.undefined_hint());
    if (!callee.is_function()) fail("'" + callee.type_name() + "' object is not callable");
    return callee.function()(args);
  }

  Value eval_inner(const Expr& e, const FramePtr& frame) {
    switch (e.kind) {
      case Expr::Kind::literal: return e.value;
      case Expr::Kind::name: return lookup(frame, e.name);
      case Expr::Kind::list:
      case Expr::Kind::tuple: {
        List items;
        for (const auto& a : e.args) items.push_back(eval(*a, frame));
        return e.kind == Expr::Kind::list ? Value::list(std::move(items)) : Value::tuple(std::move(items));
      }
      case Expr::Kind::dict: {
        Dict d;
        for (std::size_t i = 0; i + 1 < e.args.size(); i += 2)
          d.set(eval(*e.args[i], frame), eval(*e.args[i + 1], frame));
        return Value::dict(std::move(d));
      }
      case Expr::Kind::attribute: return get_attribute(eval(*e.args[0], frame), e.name);
      case Expr::Kind::subscript: {
        Value obj = eval(*e.args[0], frame);
        const Expr& key = *e.args[1];
        if (key.kind == Expr::Kind::slice) {
          auto part = [&](std::size_t i) { return key.args[i] ? eval(*key.args[i], frame) : Value::none(); };
          return get_slice(obj, part(0), part(1), part(2));
        }
        return get_item(obj, eval(key, frame));
      }
      case Expr::Kind::slice: fail("slice outside of a subscript");
      case Expr::Kind::call: {
        Value callee = eval(*e.args[0], frame);
        return invoke(callee, eval_args(e, frame));
      }
      case Expr::Kind::filter: return apply_filter(e.name, eval(*e.args[0], frame), eval_args(e, frame));
      case Expr::Kind::test: {
        bool r = apply_test(e.name, eval(*e.args[0], frame), eval_args(e, frame));
        return Value(e.negated ? !r : r);
      }
      case Expr::Kind::negate: return negate(eval(*e.args[0], frame));
      case Expr::Kind::plus: {
        Value v = eval(*e.args[0], frame);
        if (!v.is_number()) fail("bad operand type for unary +: '" + v.type_name() + "'");
        return v;
      }
      case Expr::Kind::binary: return binary_op(e.name, eval(*e.args[0], frame), eval(*e.args[1], frame));
      case Expr::Kind::compare: {
        Value left = eval(*e.args[0], frame);
        for (std::size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*e.args[i + 1], frame);
          const std::string& op = e.ops[i];
          bool ok = op == "=="   ? equals(left, right)
                    : op == "!=" ? !equals(left, right)
                    : op == "<"  ? less(left, right)
                    : op == ">"  ? less(right, left)
                    : op == "<=" ? !less(right, left)
                    : op == ">=" ? !less(left, right)
                    : op == "in" ? contains(right, left)
                                 : !contains(right, left);
          if (!ok) return Value(false);
          left = std::move(right);
        }
        return Value(true);
      }
      case Expr::Kind::conditional:
        if (eval(*e.args[1], frame).truthy()) return eval(*e.args[0], frame);
        return e.args[2] ? eval(*e.args[2], frame) : Value::undefined("conditional expression had no else branch");
      case Expr::Kind::logical_and: {
        Value left = eval(*e.args[0], frame);
        return left.truthy() ? eval(*e.args[1], frame) : left;
      }
      case Expr::Kind::logical_or: {
        Value left = eval(*e.args[0], frame);
        return left.truthy() ? left : eval(*e.args[1], frame);
      }
      case Expr::Kind::logical_not: return Value(!eval(*e.args[0], frame).truthy());
    }
    fail("unknown expression");
  }
};

}  // namespace

std::string render(const Body& body, const Dict& variables, const RenderLimits& limits) {
  // The budget outlives the interpreter, so the namespaces it empties at the end are only those
  // that cycles kept alive.
  Budget budget(limits);
  return Interpreter(budget).run(body, variables);
}

}  // namespace tessera::runtime::jinja
