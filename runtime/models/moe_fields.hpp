#pragma once
// The config.json fields the mixture-of-experts architectures share, each validated with the
// field named, and the MoE layer spec they make. Mixtral, Qwen2-MoE and Qwen3-MoE name and
// default them differently; each architecture file says which names and defaults it uses.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/models/stack_spec.hpp"

namespace tessera::runtime {

class ConfigObject;
struct ModelConfig;

struct MoeFieldNames {
  std::string_view num_experts;        // "num_local_experts" (Mixtral) or "num_experts" (Qwen)
  std::string_view num_experts_alias;  // another name transformers may write it under, or ""
  std::string_view features;           // "intermediate_size" (Mixtral), "moe_intermediate_size"
};

struct MoeDefaults {  // HF's, for configs that leave a field out
  std::int64_t num_experts = 0;
  std::int64_t top_k = 0;
  std::int64_t features = 0;
  bool normalize_top_k = false;
};

// num_experts, num_experts_per_tok (1 … num_experts), the expert features and norm_topk_prob
// (when `read_normalize`; otherwise the default holds), into a spec without tensor names.
MoeSpec parse_moe_fields(const ConfigObject& root, const MoeFieldNames& names,
                         const MoeDefaults& defaults, bool read_normalize);

// Qwen's sparse layers: layer i is a mixture unless i is in mlp_only_layers or
// (i + 1) % decoder_sparse_step != 0. Both fields are validated (indices inside the model, a
// step of at least 1).
std::vector<bool> qwen_sparse_layers(const ConfigObject& root, std::int64_t layers);

// Fails on num_hidden_layers unless the weights of the experts and the rest of the model stay
// within tessera's parameter limit (the dense check does not count experts).
void check_expert_parameters(const ConfigObject& root, const ModelConfig& cfg, const MoeSpec& moe,
                             std::int64_t sparse_layers);

}  // namespace tessera::runtime
