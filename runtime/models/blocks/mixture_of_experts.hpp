#pragma once
// A mixture-of-experts feed-forward as one rank computes it. The router is replicated, so every
// rank routes every token alike; the rank runs the experts it holds (ShardPlan: whole experts
// over the stage's ep ranks, each expert's features split over the ranks that share it) on the
// tokens routed to them, and the stage sums the partial outputs in one all-reduce.
//
// Why a sum and not an all-to-all: attention is tensor-parallel or replicated over a stage, so
// after it every rank of the stage holds every token's hidden state. Dispatching a token to an
// expert's rank is then choosing it there, with nothing to send; combining is the sum, one
// all-reduce per layer as for a dense MLP. An all-to-all pays off once ranks hold different
// tokens (data-parallel attention), which tessera does not do yet.
#include <memory>
#include <optional>

#include "runtime/model/model_config.hpp"
#include "runtime/model/shard_plan.hpp"
#include "runtime/model/weight_loader.hpp"
#include "runtime/models/blocks/dense_mlp.hpp"
#include "runtime/models/blocks/feed_forward.hpp"
#include "runtime/models/stack_spec.hpp"

namespace tessera::runtime {

class MixtureOfExperts final : public FeedForward {
 public:
  MixtureOfExperts(const MoeSpec& spec, const ModelConfig& config, const ShardPlan& plan,
                   WeightLoader& loader);

  void forward(const StepContext& step, const Tensor& normed, Tensor& out) const override;
  std::int64_t parameter_count() const override;

 private:
  Weight router_;
  ExpertRouting routing_;
  ExpertWeights experts_;
  // Qwen2-MoE's shared expert and its gate; computed by the first tensor-parallel group only,
  // so the stage's sum counts it once.
  std::optional<DenseMlp> shared_expert_;
  Weight shared_expert_gate_;
};

}  // namespace tessera::runtime
