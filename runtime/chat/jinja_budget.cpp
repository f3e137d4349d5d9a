#include "runtime/chat/jinja_budget.hpp"

#include <algorithm>

#include "runtime/chat/jinja_value.hpp"

namespace tessera::runtime::jinja {

namespace {
thread_local Budget* g_current = nullptr;
}  // namespace

Budget::Budget(const RenderLimits& limits)
    : limits_(limits), ledger_(std::make_shared<Ledger>()), previous_(g_current) {
  ledger_->limit = limits.max_value_bytes;
  g_current = this;
}

Budget::~Budget() {
  // Emptying a namespace may free others (their weak pointers then expire) but never throws.
  for (const auto& weak : namespaces_)
    if (std::shared_ptr<Dict> ns = weak.lock()) ns->clear();
  g_current = previous_;
}

Budget* Budget::current() { return g_current; }

void Budget::adopt_namespace(const std::shared_ptr<Dict>& ns) {
  if (namespaces_.size() >= prune_at_) {
    std::erase_if(namespaces_, [](const std::weak_ptr<Dict>& w) { return w.expired(); });
    prune_at_ = std::max<std::size_t>(1024, 2 * namespaces_.size());  // amortised O(1) per namespace
  }
  namespaces_.push_back(ns);
}

void Budget::exceeded_steps() const {
  throw RenderError("chat template exceeded its budget of " + with_commas(limits_.max_steps) +
                    " steps (max_steps): endless or runaway loop?");
}

const RenderLimits& current_limits() {
  static const RenderLimits defaults;
  return g_current ? g_current->limits() : defaults;
}

void charge_steps(std::uint64_t n) {
  if (g_current) g_current->step(n);
}

void check_string_size(std::size_t bytes) {
  std::size_t limit = current_limits().max_string_bytes;
  if (bytes > limit)
    throw RenderError("string result too large: over the chat template limit of " + with_commas(limit) +
                      " bytes (max_string_bytes)");
}

void check_list_size(std::size_t items) {
  std::size_t limit = current_limits().max_list_length;
  if (items > limit)
    throw RenderError("list result too large: over the chat template limit of " + with_commas(limit) +
                      " items (max_list_length)");
}

std::shared_ptr<Ledger> charge_memory(std::size_t bytes) {
  if (!g_current) return nullptr;
  const std::shared_ptr<Ledger>& ledger = g_current->ledger();
  if (bytes > ledger->limit - std::min(ledger->live, ledger->limit))
    throw RenderError("template values too large: they would hold more than the chat template limit of " +
                      with_commas(ledger->limit) + " bytes (max_value_bytes)");
  ledger->live += bytes;
  return ledger;
}

std::string with_commas(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

}  // namespace tessera::runtime::jinja
