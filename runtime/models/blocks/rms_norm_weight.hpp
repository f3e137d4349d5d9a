#pragma once
// A loaded RMSNorm: y = x / rms(x) · (weight_offset + w).
#include "runtime/backend/backend.hpp"

namespace tessera::runtime {

struct RmsNormWeight {
  Tensor weight;
  float eps = 0.0f;
  float weight_offset = 0.0f;

  void apply(Backend& backend, const Tensor& x, Tensor& out) const {
    backend.rms_norm(x, weight, eps, weight_offset, out);
  }
  // residual += x, then out = the norm of residual.
  void add_then_apply(Backend& backend, Tensor& residual, const Tensor& x, Tensor& out) const {
    backend.add_rms_norm(residual, x, weight, eps, weight_offset, out);
  }
};

}  // namespace tessera::runtime
