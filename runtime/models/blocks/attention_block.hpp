#pragma once
// Self-attention as one tensor-parallel rank computes it: the fused q/k/v projection of its heads
// (column-parallel), optional q/k norms, RoPE and paged attention, then its block of the output
// projection (row-parallel) and the all-reduce.
#include <cstdint>

#include "runtime/backend/backend.hpp"
#include "runtime/kv/kv_cache.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/model/shard_plan.hpp"
#include "runtime/model/weight_loader.hpp"
#include "runtime/models/blocks/step_context.hpp"
#include "runtime/models/stack_spec.hpp"

namespace tessera::runtime {

class AttentionBlock {
 public:
  // Reads this rank's slices of the spec's tensors; `inv_freq` is the layer's RoPE table.
  AttentionBlock(const AttentionSpec& spec, const ModelConfig& config, const ShardPlan& plan,
                 WeightLoader& loader, Tensor inv_freq);

  // out [tokens, hidden] = this layer's attention of `normed`, summed over the group.
  void forward(const StepContext& step, KvLayer& kv, const Tensor& normed, Tensor& out) const;

  const AttentionShape& shape() const { return shape_; }
  std::int64_t parameter_count() const;

 private:
  AttentionShape shape_;
  std::int64_t window_ = 0;
  float norm_eps_ = 0.0f;
  float norm_offset_ = 0.0f;
  Weight qkv_, o_;
  Tensor qkv_bias_, q_norm_, k_norm_, o_bias_, inv_freq_;
};

}  // namespace tessera::runtime
