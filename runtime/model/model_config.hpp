#pragma once
// The parts of a Hugging Face `config.json` and `generation_config.json` that define a decoder,
// validated when read: an unknown architecture, a missing or mistyped field, or sizes that do not
// fit together are refused with the file and field named. The fields every decoder has are read
// here; the registered architecture (runtime/models/registry.hpp) reads its own and declares
// the layer stack.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runtime/model/rope_config.hpp"
#include "runtime/models/stack_spec.hpp"

namespace tessera::runtime {

struct ModelConfig {
  std::string architecture;  // as written in config.json, e.g. "LlamaForCausalLM"
  std::string model_type;    // the registered architecture's HF model_type, e.g. "llama"
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;
  std::int64_t head_dim = 0;  // explicit `head_dim`, else the architecture's default
  std::int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  std::string torch_dtype;  // informational: the dtype the checkpoint declares
  // The layer stack the architecture declared (runtime/models/stack_spec.hpp).
  StackSpec stack;

  // The RoPE of the stack's first variant: every layer's, unless the architecture gives some
  // layers their own (Gemma 3's sliding layers).
  const RopeConfig& rope() const { return stack.ropes.at(0); }
  // Per layer: the sliding window in tokens, or 0 for full causal attention. A token at position
  // p attends to positions p - window + 1 … p, as HF transformers masks it.
  std::vector<std::int64_t> layer_sliding_windows() const;

  // Reads and validates `config.json` in `model_dir`.
  static ModelConfig load(const std::filesystem::path& model_dir);
  // The same from JSON text; `source` names the file in error messages.
  static ModelConfig parse(const std::string& json_text, const std::string& source);
};

struct GenerationConfig {
  std::vector<std::int64_t> eos_token_ids;  // `eos_token_id`, a number or a list
  std::optional<std::int64_t> bos_token_id;
  std::optional<std::int64_t> pad_token_id;

  // Reads `generation_config.json` if present; otherwise falls back to the ids in `config.json`.
  static GenerationConfig load(const std::filesystem::path& model_dir);
  static GenerationConfig parse(const std::string& json_text, const std::string& source);
};

}  // namespace tessera::runtime
