#include "runtime/models/moe_fields.hpp"

#include <string>

#include "runtime/model/config_json.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/model/model_config_limits.hpp"

namespace tessera::runtime {
namespace {

using namespace config_limits;

std::int64_t parse_expert_count(const ConfigObject& root, const MoeFieldNames& names,
                                std::int64_t fallback) {
  const auto primary = root.opt_size(names.num_experts, kMaxExperts);
  if (names.num_experts_alias.empty()) return primary.value_or(fallback);
  const auto alias = root.opt_size(names.num_experts_alias, kMaxExperts);
  if (primary && alias && *primary != *alias) {
    root.fail(names.num_experts, std::to_string(*primary) + " disagrees with " +
                                     root.field(names.num_experts_alias) + " (" +
                                     std::to_string(*alias) + ")");
  }
  return primary ? *primary : alias.value_or(fallback);
}

}  // namespace

MoeSpec parse_moe_fields(const ConfigObject& root, const MoeFieldNames& names,
                         const MoeDefaults& defaults, bool read_normalize) {
  MoeSpec moe;
  moe.num_experts = parse_expert_count(root, names, defaults.num_experts);
  moe.top_k = root.opt_size("num_experts_per_tok", kMaxExperts).value_or(defaults.top_k);
  if (moe.top_k > moe.num_experts) {
    root.fail("num_experts_per_tok", std::to_string(moe.top_k) + " is more than the " +
                                         std::to_string(moe.num_experts) + " experts (" +
                                         root.field(names.num_experts) + ")");
  }
  moe.features = root.opt_size(names.features, kMaxIntermediateSize).value_or(defaults.features);
  moe.normalize_top_k = read_normalize
                            ? root.opt_bool("norm_topk_prob").value_or(defaults.normalize_top_k)
                            : defaults.normalize_top_k;
  return moe;
}

std::vector<bool> qwen_sparse_layers(const ConfigObject& root, std::int64_t layers) {
  const std::int64_t step = root.opt_positive_int("decoder_sparse_step").value_or(1);
  std::vector<bool> sparse(static_cast<std::size_t>(layers));
  for (std::int64_t i = 0; i < layers; ++i) sparse[static_cast<std::size_t>(i)] = (i + 1) % step == 0;
  if (const auto* dense = root.opt_array("mlp_only_layers")) {
    for (const auto& entry : *dense) {
      const auto index = json_to_int64(entry);
      if (!index || *index < 0 || *index >= layers) {
        root.fail("mlp_only_layers", "expected layer indices in [0, " + std::to_string(layers) +
                                         ") (num_hidden_layers), found " + entry.dump());
      }
      sparse[static_cast<std::size_t>(*index)] = false;
    }
  }
  return sparse;
}

void check_expert_parameters(const ConfigObject& root, const ModelConfig& cfg, const MoeSpec& moe,
                             std::int64_t sparse_layers) {
  // Each factor is bounded (experts ≤ 2^12, hidden ≤ 2^20, features ≤ 2^22, layers ≤ 2^10), so
  // the product is taken in long double to stay exact enough for a limit check without overflow.
  const long double experts = static_cast<long double>(moe.num_experts) * 3.0L *
                              static_cast<long double>(cfg.hidden_size) *
                              static_cast<long double>(moe.features) *
                              static_cast<long double>(sparse_layers);
  if (experts > static_cast<long double>(kMaxParameters)) {
    root.fail("num_hidden_layers", "the experts' sizes imply about " +
                                       std::to_string(static_cast<double>(experts)) +
                                       " weights, more than tessera's limit of " +
                                       std::to_string(kMaxParameters));
  }
}

}  // namespace tessera::runtime
