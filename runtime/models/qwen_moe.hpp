#pragma once
// What Qwen2-MoE and Qwen3-MoE share: experts named mlp.experts.N.{gate,up,down}_proj behind a
// router mlp.gate, in the layers qwen_sparse_layers picks; the others keep the dense MLP.
#include <cstdint>

#include "runtime/models/hf_names.hpp"
#include "runtime/models/stack_spec.hpp"

namespace tessera::runtime {

inline MoeSpec qwen_moe_layer(const MoeSpec& fields, std::int64_t layer) {
  MoeSpec moe = fields;
  moe.router = hf_names::layer(layer, "mlp.gate");
  moe.experts_prefix = hf_names::layer(layer, "mlp.experts.");
  moe.gate = "gate_proj";
  moe.up = "up_proj";
  moe.down = "down_proj";
  return moe;
}

}  // namespace tessera::runtime
