#pragma once
// Optional brackets around one forward step, for a backend that uploads a step's metadata at
// once or records and replays whole steps (the CUDA backend's graphs); the CPU backend ignores
// them. Every operation of the step comes between begin_step and end_step; `replayable` is
// false when the step also runs collectives outside the backend. end_step returns the step's
// output in a form the caller may keep. abort_step ends a step that threw.
#include "runtime/backend/tensor.hpp"
#include "runtime/kv/forward_batch.hpp"
#include "runtime/kv/kv_cache.hpp"

namespace tessera::runtime {

class StepBrackets {
 public:
  virtual ~StepBrackets() = default;

  virtual void begin_step(const ForwardBatch& /*batch*/, const KvCache& /*cache*/,
                          bool /*replayable*/) {}
  virtual Tensor end_step(Tensor output) { return output; }
  virtual void abort_step() noexcept {}
};

}  // namespace tessera::runtime
