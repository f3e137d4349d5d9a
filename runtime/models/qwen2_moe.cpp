// Qwen2-MoE (Qwen1.5-MoE, Qwen2-57B-A14B): Qwen2's attention; in its sparse layers a mixture of
// experts whose top-k weights are renormalised only with norm_topk_prob, plus a shared expert
// every token passes through, scaled by a sigmoid gate.
#include <cstddef>
#include <optional>

#include "runtime/model/config_json.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/model/model_config_limits.hpp"
#include "runtime/models/architecture.hpp"
#include "runtime/models/hf_names.hpp"
#include "runtime/models/llama_family.hpp"
#include "runtime/models/moe_fields.hpp"
#include "runtime/models/qwen_moe.hpp"

namespace tessera::runtime {
namespace {

class Qwen2Moe final : public Architecture {
 public:
  std::string_view class_name() const override { return "Qwen2MoeForCausalLM"; }
  std::string_view model_type() const override { return "qwen2_moe"; }

  void configure(const ConfigObject& root, ModelConfig& cfg) const override {
    configure_llama_stack(root, cfg, LlamaVariant::qwen2);
    // Qwen2MoeConfig makes the q/k/v biases a field (on by default), unlike Qwen2.
    const bool qkv_bias = root.opt_bool("qkv_bias").value_or(true);
    for (LayerSpec& layer : cfg.stack.layers) layer.attention.qkv_bias = qkv_bias;

    // HF's defaults are Qwen1.5-MoE-A2.7B's.
    const MoeSpec fields = parse_moe_fields(
        root, {"num_experts", "num_local_experts", "moe_intermediate_size"},
        {.num_experts = 60, .top_k = 4, .features = 1408, .normalize_top_k = false},
        /*read_normalize=*/true);
    const std::int64_t shared_features =
        root.opt_size("shared_expert_intermediate_size", config_limits::kMaxIntermediateSize)
            .value_or(5632);
    place_qwen_experts(root, cfg, fields);
    for (std::int64_t i = 0; i < cfg.num_hidden_layers; ++i) {
      std::optional<MoeSpec>& moe = cfg.stack.layers[static_cast<std::size_t>(i)].moe;
      if (!moe) continue;
      SharedExpertSpec shared;
      shared.mlp = {hf_names::layer(i, "mlp.shared_expert.gate_proj"),
                    hf_names::layer(i, "mlp.shared_expert.up_proj"),
                    hf_names::layer(i, "mlp.shared_expert.down_proj"), false, Activation::silu,
                    shared_features};
      shared.gate = hf_names::layer(i, "mlp.shared_expert_gate");
      moe->shared_expert = std::move(shared);
    }
  }
};

}  // namespace

const Architecture& qwen2_moe_architecture() {
  static const Qwen2Moe a;
  return a;
}

}  // namespace tessera::runtime
