// Qwen3-MoE (Qwen3-30B-A3B, Qwen3-235B-A22B): Qwen3's attention (q/k norms); in its sparse
// layers a mixture of experts without a shared expert, renormalised with norm_topk_prob; the
// layers of mlp_only_layers keep a dense MLP.
#include "runtime/model/config_json.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/models/architecture.hpp"
#include "runtime/models/llama_family.hpp"
#include "runtime/models/moe_fields.hpp"
#include "runtime/models/qwen_moe.hpp"

namespace tessera::runtime {
namespace {

class Qwen3Moe final : public Architecture {
 public:
  std::string_view class_name() const override { return "Qwen3MoeForCausalLM"; }
  std::string_view model_type() const override { return "qwen3_moe"; }

  void configure(const ConfigObject& root, ModelConfig& cfg) const override {
    configure_llama_stack(root, cfg, LlamaVariant::qwen3);
    // HF's defaults are Qwen3-30B-A3B's shape; transformers 5 writes the expert count as
    // num_local_experts, released configs as num_experts.
    const MoeSpec fields = parse_moe_fields(
        root, {"num_experts", "num_local_experts", "moe_intermediate_size"},
        {.num_experts = 128, .top_k = 8, .features = 768, .normalize_top_k = false},
        /*read_normalize=*/true);
    place_qwen_experts(root, cfg, fields);
  }
};

}  // namespace

const Architecture& qwen3_moe_architecture() {
  static const Qwen3Moe a;
  return a;
}

}  // namespace tessera::runtime
