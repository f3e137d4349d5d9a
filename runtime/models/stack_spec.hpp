#pragma once
// A decoder's layer stack as an architecture declares it: which checkpoint tensors play which
// role in which shared block, and the options of each block. It is plain data, made while
// config.json is read (runtime/models/<architecture>.cpp); the model part turns it into loaded
// blocks (runtime/models/blocks/). How a role is split over tensor-parallel ranks follows from the
// role: q/k/v and gate/up by rows (column-parallel), o and down by columns (row-parallel, then an
// all-reduce), lm_head by vocabulary rows, norms and embeddings whole.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/model/rope_config.hpp"

namespace tessera::runtime {

// An RMSNorm weight: y = x / rms(x) · (weight_offset + w). Gemma stores w around 0 and adds 1.
struct NormSpec {
  std::string tensor;  // full checkpoint name
  float weight_offset = 0.0f;
};

struct AttentionSpec {
  // Checkpoint names of the projections without their ".weight" / ".bias" suffix.
  std::string q, k, v, o;
  bool qkv_bias = false;  // q, k and v have biases
  bool o_bias = false;
  // RMSNorm over each query and key head before RoPE (Qwen3, Gemma 3); unset: none.
  std::optional<NormSpec> q_norm, k_norm;
  float softmax_scale = 0.0f;  // 0: 1/sqrt(head_dim)
  std::size_t rope = 0;        // which of StackSpec::ropes rotates this layer
  std::int64_t window = 0;     // sliding window in tokens, 0: full causal attention
};

enum class Activation { silu, gelu_tanh };

// out = down(act(gate(x)) · up(x)).
struct DenseMlpSpec {
  std::string gate, up, down;  // without ".weight" / ".bias"
  bool bias = false;
  Activation activation = Activation::silu;
  std::int64_t features = 0;  // intermediate features; 0: the model's intermediate_size
};

// Qwen2-MoE's shared expert: a dense MLP every token passes through, its output scaled by
// sigmoid(gate · x) before it joins the experts'.
struct SharedExpertSpec {
  DenseMlpSpec mlp;
  std::string gate;  // [1, hidden], without ".weight"
};

// A mixture of experts in place of the dense MLP: a router (a linear layer without bias,
// [num_experts, hidden]) scores the experts for each token, the top_k run on it (SiLU-gated MLPs
// of `features` each) and their outputs are summed with the router's softmax weights,
// renormalised over the chosen ones when normalize_top_k.
struct MoeSpec {
  std::string router;  // without ".weight"
  // Expert e's projections are experts_prefix + e + "." + gate / up / down (without ".weight").
  std::string experts_prefix;
  std::string gate, up, down;
  std::int64_t num_experts = 0;
  std::int64_t top_k = 0;
  bool normalize_top_k = false;
  std::int64_t features = 0;
  std::optional<SharedExpertSpec> shared_expert;

  std::string expert(std::int64_t index, const std::string& projection) const {
    return experts_prefix + std::to_string(index) + "." + projection;
  }
};

// x += attention(input_norm(x)) [then attention_output_norm], x += mlp(mlp_norm(x)) [then
// mlp_output_norm]: pre-norm layers (Llama) leave the output norms unset; Gemma sets them.
struct LayerSpec {
  NormSpec input_norm;
  AttentionSpec attention;
  std::optional<NormSpec> attention_output_norm;
  NormSpec mlp_norm;
  DenseMlpSpec mlp;
  std::optional<MoeSpec> moe;  // set: the feed-forward is this mixture and `mlp` is unused
  std::optional<NormSpec> mlp_output_norm;
};

struct StackSpec {
  std::string embed_tokens;
  float embedding_scale = 1.0f;  // multiplies the looked-up embeddings (Gemma: sqrt(hidden))
  std::vector<RopeConfig> ropes;  // the distinct RoPE variants the layers use
  std::vector<LayerSpec> layers;
  NormSpec final_norm;
  std::string lm_head;  // the embedding's name when the model ties them
};

// Every field in a fixed order, for a node's fingerprint: two nodes whose texts agree compute
// the same model.
std::string canonical_text(const StackSpec& stack);

}  // namespace tessera::runtime
