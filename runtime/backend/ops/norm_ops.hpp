#pragma once
// The RMSNorm family of Backend. Each computes x / sqrt(mean(x²) + eps) · (weight_offset + w),
// the sum in f32: Gemma stores w and scales by 1 + w (weight_offset 1), everyone else passes 0.
#include "runtime/backend/ops/attention_shape.hpp"
#include "runtime/backend/tensor.hpp"

namespace tessera::runtime {

class NormOps {
 public:
  virtual ~NormOps() = default;

  // out may be an activation (allocate) or a linear input (allocate_linear_input), or x itself.
  virtual void rms_norm(const Tensor& x, const Tensor& weight, float eps, float weight_offset,
                        Tensor& out) = 0;
  // residual += x; out = rms_norm(residual).
  virtual void add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps,
                            float weight_offset, Tensor& out) = 0;
  // RMSNorm over every query head and every key head of qkv, in place (Qwen3, Gemma 3).
  virtual void qk_norm(Tensor& qkv, const AttentionShape& shape, const Tensor& q_weight,
                       const Tensor& k_weight, float eps, float weight_offset) = 0;
};

}  // namespace tessera::runtime
