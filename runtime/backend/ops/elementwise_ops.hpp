#pragma once
// The elementwise family of Backend: the gated MLP activations and arithmetic on activations.
#include "runtime/backend/tensor.hpp"

namespace tessera::runtime {

class ElementwiseOps {
 public:
  virtual ~ElementwiseOps() = default;

  // out = silu(gate) * up, where each row of gate_up is the gate projection then the up one.
  virtual void silu_mul(const Tensor& gate_up, Tensor& out) = 0;
  // out = gelu_tanh(gate) * up, laid out as for silu_mul (Gemma's MLP), where
  // gelu_tanh(x) = 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))): PyTorch's
  // gelu(approximate="tanh").
  virtual void gelu_tanh_mul(const Tensor& gate_up, Tensor& out) = 0;
  // x *= factor, in place, on an activation.
  virtual void scale(Tensor& x, float factor) = 0;
  // acc += x.
  virtual void add(Tensor& acc, const Tensor& x) = 0;
};

}  // namespace tessera::runtime
