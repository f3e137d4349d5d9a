// Mixtral: Mistral's attention with a mixture of experts in every layer; the router's top-k
// weights are always renormalised to sum to 1.
#include "runtime/model/config_json.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/models/architecture.hpp"
#include "runtime/models/hf_names.hpp"
#include "runtime/models/llama_family.hpp"
#include "runtime/models/moe_fields.hpp"

namespace tessera::runtime {
namespace {

class Mixtral final : public Architecture {
 public:
  std::string_view class_name() const override { return "MixtralForCausalLM"; }
  std::string_view model_type() const override { return "mixtral"; }

  void configure(const ConfigObject& root, ModelConfig& cfg) const override {
    configure_llama_stack(root, cfg, LlamaVariant::mistral);
    // MixtralConfig defaults sliding_window to None where MistralConfig has 4096.
    if (!root.raw().contains("sliding_window")) {
      for (LayerSpec& layer : cfg.stack.layers) layer.attention.window = 0;
    }
    // Each expert is intermediate_size wide; HF's defaults are Mixtral-8x7B's.
    const MoeSpec fields = parse_moe_fields(
        root, {"num_local_experts", "", "intermediate_size"},
        {.num_experts = 8, .top_k = 2, .features = cfg.intermediate_size, .normalize_top_k = true},
        /*read_normalize=*/false);
    check_expert_parameters(root, cfg, fields, cfg.num_hidden_layers);
    for (std::int64_t i = 0; i < cfg.num_hidden_layers; ++i) {
      MoeSpec moe = fields;
      moe.router = hf_names::layer(i, "block_sparse_moe.gate");
      moe.experts_prefix = hf_names::layer(i, "block_sparse_moe.experts.");
      moe.gate = "w1";
      moe.up = "w3";
      moe.down = "w2";
      cfg.stack.layers[static_cast<std::size_t>(i)].moe = std::move(moe);
    }
  }
};

}  // namespace

const Architecture& mixtral_architecture() {
  static const Mixtral a;
  return a;
}

}  // namespace tessera::runtime
