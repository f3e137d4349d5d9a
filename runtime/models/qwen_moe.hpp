#pragma once
// What Qwen2-MoE and Qwen3-MoE share: experts named mlp.experts.N.{gate,up,down}_proj behind a
// router mlp.gate, in the layers qwen_sparse_layers picks; the others keep the dense MLP.
#include "runtime/models/stack_spec.hpp"

namespace tessera::runtime {

class ConfigObject;
struct ModelConfig;

// Puts a mixture of `fields`' sizes, under Qwen's names, in each sparse layer of cfg.stack,
// and checks the experts' weights against tessera's parameter limit (check_expert_parameters).
void place_qwen_experts(const ConfigObject& root, ModelConfig& cfg, const MoeSpec& fields);

}  // namespace tessera::runtime
