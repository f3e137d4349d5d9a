#pragma once
// A gated MLP as one tensor-parallel rank computes it: its block of the fused gate/up projection
// (column-parallel), the activation, its block of the down projection (row-parallel), all-reduce.
// Its features are the spec's, or the model's intermediate_size; ShardPlan::make has checked
// that they split over the tensor-parallel ranks.
#include "runtime/model/model_config.hpp"
#include "runtime/model/shard_plan.hpp"
#include "runtime/model/weight_loader.hpp"
#include "runtime/models/blocks/feed_forward.hpp"
#include "runtime/models/stack_spec.hpp"

namespace tessera::runtime {

class DenseMlp final : public FeedForward {
 public:
  DenseMlp(const DenseMlpSpec& spec, const ModelConfig& config, const ShardPlan& plan,
           WeightLoader& loader);

  void forward(const StepContext& step, const Tensor& normed, Tensor& out) const override;
  // This rank's share of the output, before the all-reduce: for a block that sums it with
  // others (a shared expert beside the experts) and reduces once.
  void forward_partial(const StepContext& step, const Tensor& normed, Tensor& out) const;
  std::int64_t parameter_count() const override;

 private:
  Activation activation_;
  std::int64_t features_ = 0;  // intermediate features on this rank
  Weight gate_up_, down_;
  Tensor gate_up_bias_, down_bias_;
};

}  // namespace tessera::runtime
