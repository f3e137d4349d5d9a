#include "runtime/models/blocks/mixture_of_experts.hpp"

#include <string>
#include <vector>

#include "runtime/models/blocks/held_elements.hpp"

namespace tessera::runtime {

MixtureOfExperts::MixtureOfExperts(const MoeSpec& spec, const ModelConfig& config,
                                   const ShardPlan& plan, WeightLoader& loader)
    : routing_{spec.num_experts, spec.top_k, spec.normalize_top_k} {
  const std::int64_t hidden = config.hidden_size;
  router_ = loader.whole(spec.router + ".weight", {spec.num_experts, hidden});

  experts_.first = plan.expert_begin;
  experts_.count = plan.experts;
  experts_.features = spec.features / plan.expert_shards;
  const std::int64_t begin = experts_.features * plan.expert_shard;
  const std::vector<std::int64_t> gate_up_shape{spec.features, hidden};
  std::vector<WeightLoader::RowBlock> gate_up;
  std::vector<std::string> down;
  for (std::int64_t e = plan.expert_begin; e < plan.expert_begin + plan.experts; ++e) {
    gate_up.push_back({spec.expert(e, spec.gate) + ".weight", gate_up_shape, begin,
                       experts_.features});
    gate_up.push_back({spec.expert(e, spec.up) + ".weight", gate_up_shape, begin,
                       experts_.features});
    down.push_back(spec.expert(e, spec.down) + ".weight");
  }
  experts_.gate_up = loader.stacked_rows(gate_up);
  experts_.down = loader.stacked_columns(down, {hidden, spec.features}, begin, experts_.features);

  if (spec.shared_expert && plan.rank.tp_group == 0) {
    shared_expert_.emplace(spec.shared_expert->mlp, config, plan, loader);
    shared_expert_gate_ = loader.whole(spec.shared_expert->gate + ".weight", {1, hidden});
  }
}

void MixtureOfExperts::forward(const StepContext& step, const Tensor& normed, Tensor& out) const {
  Backend& backend = step.backend;
  const std::int64_t tokens = normed.rows();
  Tensor router_logits = backend.allocate({tokens, routing_.num_experts});
  backend.linear(normed, router_, nullptr, router_logits);
  backend.mixture_of_experts(normed, router_logits, routing_, experts_, out);
  if (shared_expert_) {
    Tensor shared = backend.allocate(out.shape());
    shared_expert_->forward_partial(step, normed, shared);
    Tensor gate = backend.allocate({tokens, 1});
    backend.linear(normed, shared_expert_gate_, nullptr, gate);
    backend.scale_rows_by_sigmoid(shared, gate);
    backend.add(out, shared);
  }
  step.all_reduce_stage(out);
}

std::int64_t MixtureOfExperts::parameter_count() const {
  std::int64_t total = held_elements(router_) + held_elements(experts_.gate_up) +
                       held_elements(experts_.down);
  if (shared_expert_) {
    total += shared_expert_->parameter_count() + held_elements(shared_expert_gate_);
  }
  return total;
}

}  // namespace tessera::runtime
