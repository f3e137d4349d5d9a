#pragma once
// The feed-forward half of a decoder layer: a dense MLP or a mixture of experts.
#include <cstdint>

#include "runtime/backend/tensor.hpp"
#include "runtime/models/blocks/step_context.hpp"

namespace tessera::runtime {

class FeedForward {
 public:
  virtual ~FeedForward() = default;
  // out [tokens, hidden] = the block applied to `normed`, summed over the ranks that share it
  // (the tensor-parallel group for a dense MLP, the stage for experts).
  virtual void forward(const StepContext& step, const Tensor& normed, Tensor& out) const = 0;
  virtual std::int64_t parameter_count() const = 0;
};

}  // namespace tessera::runtime
