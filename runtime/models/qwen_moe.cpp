#include "runtime/models/qwen_moe.hpp"

#include <cstddef>
#include <cstdint>

#include "runtime/model/model_config.hpp"
#include "runtime/models/hf_names.hpp"
#include "runtime/models/moe_fields.hpp"

namespace tessera::runtime {

void place_qwen_experts(const ConfigObject& root, ModelConfig& cfg, const MoeSpec& fields) {
  const auto sparse = qwen_sparse_layers(root, cfg.num_hidden_layers);
  std::int64_t sparse_layers = 0;
  for (std::int64_t i = 0; i < cfg.num_hidden_layers; ++i) {
    if (!sparse[static_cast<std::size_t>(i)]) continue;
    ++sparse_layers;
    MoeSpec moe = fields;
    moe.router = hf_names::layer(i, "mlp.gate");
    moe.experts_prefix = hf_names::layer(i, "mlp.experts.");
    moe.gate = "gate_proj";
    moe.up = "up_proj";
    moe.down = "down_proj";
    cfg.stack.layers[static_cast<std::size_t>(i)].moe = std::move(moe);
  }
  check_expert_parameters(root, cfg, fields, sparse_layers);
}

}  // namespace tessera::runtime
