#pragma once
// The checkpoint names HF's Llama-style decoders share (model.layers.N.self_attn.q_proj, ...), so
// an architecture file spells out only where it differs.
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/models/stack_spec.hpp"

namespace tessera::runtime::hf_names {

inline std::string layer(std::int64_t index, std::string_view suffix) {
  return "model.layers." + std::to_string(index) + "." + std::string(suffix);
}

// self_attn.{q,k,v,o}_proj; q_norm / k_norm are set by the architectures that have them.
inline AttentionSpec attention(std::int64_t index) {
  AttentionSpec a;
  a.q = layer(index, "self_attn.q_proj");
  a.k = layer(index, "self_attn.k_proj");
  a.v = layer(index, "self_attn.v_proj");
  a.o = layer(index, "self_attn.o_proj");
  return a;
}

inline NormSpec attention_head_norm(std::int64_t index, std::string_view which, float offset) {
  return {layer(index, "self_attn." + std::string(which) + ".weight"), offset};
}

// mlp.{gate,up,down}_proj.
inline DenseMlpSpec mlp(std::int64_t index, Activation activation) {
  return {layer(index, "mlp.gate_proj"), layer(index, "mlp.up_proj"), layer(index, "mlp.down_proj"),
          false, activation};
}

inline NormSpec layer_norm(std::int64_t index, std::string_view name, float offset) {
  return {layer(index, std::string(name) + ".weight"), offset};
}

inline constexpr std::string_view kEmbedTokens = "model.embed_tokens.weight";
inline constexpr std::string_view kFinalNorm = "model.norm.weight";
inline constexpr std::string_view kLmHead = "lm_head.weight";

}  // namespace tessera::runtime::hf_names
