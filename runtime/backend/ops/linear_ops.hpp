#pragma once
// The products and row lookups of Backend: what moves rows between the vocabulary, the hidden
// size and the projections.
#include <cstdint>
#include <span>

#include "runtime/backend/tensor.hpp"
#include "runtime/backend/weight.hpp"

namespace tessera::runtime {

class LinearOps {
 public:
  virtual ~LinearOps() = default;

  // out = x · weightᵀ (+ bias), by the kernel for the weight's format; Error(internal) for a
  // format this backend does not hold.
  virtual void linear(const Tensor& x, const Weight& weight, const Tensor* bias, Tensor& out) = 0;
  // out[i] = table[ids[i]].
  virtual void embedding(const Tensor& table, std::span<const std::int32_t> ids, Tensor& out) = 0;
  // out[i] = x[rows[i]].
  virtual void gather_rows(const Tensor& x, std::span<const std::int64_t> rows, Tensor& out) = 0;
};

}  // namespace tessera::runtime
