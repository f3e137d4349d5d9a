#pragma once
// Accounting of RenderLimits for the render running on this thread. Value operations, filters
// and methods charge their work here without every signature carrying a context: a render runs
// start to finish on one thread. Outside a render (parsing, converting the JSON variables)
// nothing is charged and the default limits apply.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/chat/render_limits.hpp"

namespace tessera::runtime::jinja {

struct Dict;

// Memory held by the values a render created. Each such value's deleter keeps the ledger alive
// and gives its bytes back, so a value outliving its render (a cached constant) stays safe.
struct Ledger {
  std::size_t live = 0;
  std::size_t limit = 0;
};

class Budget {
 public:
  // Installs itself as this thread's current budget until destroyed.
  explicit Budget(const RenderLimits& limits);
  // Breaks the reference cycles namespaces can form (see adopt_namespace) and uninstalls.
  ~Budget();
  Budget(const Budget&) = delete;
  Budget& operator=(const Budget&) = delete;

  static Budget* current();
  const RenderLimits& limits() const { return limits_; }
  const std::shared_ptr<Ledger>& ledger() const { return ledger_; }
  std::uint64_t steps() const { return steps_; }

  void step(std::uint64_t n = 1) {
    steps_ += n;
    if (steps_ > limits_.max_steps) exceeded_steps();
  }
  // A namespace may be made to hold itself (`set ns.me = [ns]`), which reference counting never
  // frees; the render's namespaces are emptied when it ends, which breaks every such cycle
  // (lists refuse cycles when appended to, and dicts cannot change, so every cycle passes
  // through a namespace).
  void adopt_namespace(const std::shared_ptr<Dict>& ns);

 private:
  [[noreturn]] void exceeded_steps() const;
  RenderLimits limits_;
  std::uint64_t steps_ = 0;
  std::shared_ptr<Ledger> ledger_;
  std::vector<std::weak_ptr<Dict>> namespaces_;
  std::size_t prune_at_ = 1024;  // namespaces made in a loop mostly die young: drop them now and then
  Budget* previous_;
};

// The current render's limits, or the defaults outside a render.
const RenderLimits& current_limits();
// Charges work to the current render, if any.
void charge_steps(std::uint64_t n);
inline void charge_scan(std::size_t bytes) { charge_steps(bytes >> 8); }  // a step per 256 bytes
// Splitting text into lines decodes every code point and allocates every line, far more work
// per byte than a scan: a step per 16 bytes and one per line (indent on a growing text in a loop
// would otherwise do quadratic work within the step limit).
inline void charge_lines(std::size_t bytes, std::size_t lines) {
  charge_steps((bytes >> 4) + lines);
}
// Refuse a result over max_string_bytes / max_list_length, naming the limit.
void check_string_size(std::size_t bytes);
void check_list_size(std::size_t items);
// Charges `bytes` of memory held to the current render; returns its ledger, or nullptr outside
// a render. Throws RenderError naming max_value_bytes when the render would hold too much.
std::shared_ptr<Ledger> charge_memory(std::size_t bytes);
// 10000000 -> "10,000,000", for messages that name limits.
std::string with_commas(std::uint64_t n);

}  // namespace tessera::runtime::jinja
