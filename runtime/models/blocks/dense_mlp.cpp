#include "runtime/models/blocks/dense_mlp.hpp"

#include <string>
#include <vector>

#include "runtime/models/blocks/held_elements.hpp"

namespace tessera::runtime {

DenseMlp::DenseMlp(const DenseMlpSpec& spec, const ModelConfig& config, const ShardPlan& plan,
                   WeightLoader& loader)
    : activation_(spec.activation) {
  const std::int64_t hidden = config.hidden_size;
  const std::int64_t inter = spec.features > 0 ? spec.features : config.intermediate_size;
  features_ = inter / plan.tp_size();
  const std::int64_t begin = features_ * plan.tp_rank();
  auto gate_up_blocks = [&](const std::string& suffix, bool matrix) {
    const auto shape =
        matrix ? std::vector<std::int64_t>{inter, hidden} : std::vector<std::int64_t>{inter};
    return std::vector<WeightLoader::RowBlock>{{spec.gate + suffix, shape, begin, features_},
                                               {spec.up + suffix, shape, begin, features_}};
  };
  gate_up_ = loader.stacked_rows(gate_up_blocks(".weight", true));
  if (spec.bias) gate_up_bias_ = loader.stacked_rows(gate_up_blocks(".bias", false)).data;
  down_ = loader.columns(spec.down + ".weight", {hidden, inter}, begin, features_);
  // A row-parallel bias is added once, by the group's first rank, before the all-reduce.
  if (spec.bias && plan.tp_rank() == 0) down_bias_ = loader.whole(spec.down + ".bias", {hidden}).data;
}

void DenseMlp::forward(const StepContext& step, const Tensor& normed, Tensor& out) const {
  forward_partial(step, normed, out);
  step.all_reduce(out);
}

void DenseMlp::forward_partial(const StepContext& step, const Tensor& normed, Tensor& out) const {
  Backend& backend = step.backend;
  const std::int64_t tokens = normed.rows();
  Tensor gate_up = backend.allocate({tokens, 2 * features_});
  backend.linear(normed, gate_up_, gate_up_bias_.defined() ? &gate_up_bias_ : nullptr, gate_up);
  Tensor activated = backend.allocate_linear_input({tokens, features_});
  switch (activation_) {
    case Activation::silu:
      backend.silu_mul(gate_up, activated);
      break;
    case Activation::gelu_tanh:
      backend.gelu_tanh_mul(gate_up, activated);
      break;
  }
  backend.linear(activated, down_, down_bias_.defined() ? &down_bias_ : nullptr, out);
}

std::int64_t DenseMlp::parameter_count() const {
  return held_elements(gate_up_) + held_elements(gate_up_bias_) + held_elements(down_) +
         held_elements(down_bias_);
}

}  // namespace tessera::runtime
