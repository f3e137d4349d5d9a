#pragma once
// The sampling family of Backend: choosing the next tokens from a step's logits.
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/backend/tensor.hpp"
#include "runtime/sampling/token_sampler.hpp"

namespace tessera::runtime {

class SamplingOps {
 public:
  virtual ~SamplingOps() = default;

  virtual std::vector<std::int32_t> argmax_rows(const Tensor& logits) = 0;
  // The next token of each listed row of `logits` [rows, vocab] (f32, outside a step), into
  // out[i]: exactly what sample_token gives for that row, and the row's state updated as
  // sample_token updates it (the token recorded, one draw consumed unless greedy). Backend
  // gives a default that samples on the host.
  virtual void sample_rows(const Tensor& logits, std::span<const RowSample> rows,
                           std::span<SampledToken> out) = 0;
};

}  // namespace tessera::runtime
