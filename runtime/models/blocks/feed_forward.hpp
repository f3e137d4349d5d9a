#pragma once
// The feed-forward half of a decoder layer: a dense MLP today, a mixture of experts next.
#include <cstdint>

#include "runtime/backend/tensor.hpp"
#include "runtime/models/blocks/step_context.hpp"

namespace tessera::runtime {

class FeedForward {
 public:
  virtual ~FeedForward() = default;
  // out [tokens, hidden] = the block applied to `normed`, summed over the tensor-parallel group.
  virtual void forward(const StepContext& step, const Tensor& normed, Tensor& out) const = 0;
  virtual std::int64_t parameter_count() const = 0;
};

}  // namespace tessera::runtime
