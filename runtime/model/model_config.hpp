#pragma once
// The parts of a Hugging Face `config.json` and `generation_config.json` that define a
// Llama-family transformer, validated when read: an unknown architecture, a missing or mistyped
// field, or sizes that do not fit together are refused with the file and field named.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tessera::runtime {

enum class ModelFamily { llama, mistral, qwen2, qwen3 };

struct RopeConfig {
  enum class Kind { default_, linear, llama3 };
  Kind kind = Kind::default_;
  double theta = 10000.0;
  double factor = 1.0;                           // linear and llama3
  double low_freq_factor = 1.0;                  // llama3
  double high_freq_factor = 4.0;                 // llama3
  std::int64_t original_max_position_embeddings = 0;  // llama3
};

struct ModelConfig {
  ModelFamily family = ModelFamily::llama;
  std::string architecture;  // as written in config.json, e.g. "LlamaForCausalLM"
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;
  std::int64_t head_dim = 0;  // explicit `head_dim`, else hidden_size / num_attention_heads
  std::int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  RopeConfig rope;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // bias on q/k/v (Qwen2 always; Llama `attention_bias`)
  bool o_proj_bias = false;     // Llama `attention_bias` also biases o_proj; Qwen2 does not
  bool mlp_bias = false;        // Llama `mlp_bias`
  bool qk_norm = false;         // Qwen3: RMSNorm over each head of q and k before RoPE
  // Per layer: the sliding window in tokens, or 0 for full causal attention. A token at position
  // p attends to positions p - window + 1 … p, as HF transformers masks it.
  std::vector<std::int64_t> layer_sliding_window;
  std::string torch_dtype;  // informational: the dtype the checkpoint declares

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
