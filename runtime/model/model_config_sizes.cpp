#include "runtime/model/model_config_sizes.hpp"

#include <string>

#include "runtime/model/model_config_limits.hpp"

namespace tessera::runtime {
namespace {

using namespace config_limits;

// Every weight the transformer loads: embeddings (twice when the head is untied) and per layer the
// q/k/v/o projections and the three MLP matrices. Norms and biases are negligible. The bounds in
// model_config_limits.hpp guarantee none of these products overflow.
std::int64_t parameter_count(const ModelConfig& c) {
  const std::int64_t q_rows = c.num_attention_heads * c.head_dim;
  const std::int64_t kv_rows = c.num_key_value_heads * c.head_dim;
  const std::int64_t per_layer =
      (2 * q_rows + 2 * kv_rows) * c.hidden_size + 3 * c.hidden_size * c.intermediate_size;
  const std::int64_t embeddings = (c.tie_word_embeddings ? 1 : 2) * c.vocab_size * c.hidden_size;
  return c.num_hidden_layers * per_layer + embeddings;
}

}  // namespace

void parse_model_sizes(const ConfigObject& root, ModelConfig& cfg) {
  cfg.vocab_size = root.req_size("vocab_size", kMaxVocabSize);
  cfg.hidden_size = root.req_size("hidden_size", kMaxHiddenSize);
  cfg.intermediate_size = root.req_size("intermediate_size", kMaxIntermediateSize);
  cfg.num_hidden_layers = root.req_size("num_hidden_layers", kMaxLayers);
  cfg.num_attention_heads = root.req_size("num_attention_heads", kMaxHeads);
  cfg.num_key_value_heads =
      root.opt_size("num_key_value_heads", kMaxHeads).value_or(cfg.num_attention_heads);
  cfg.max_position_embeddings = root.req_size("max_position_embeddings", kMaxPositions);
  if (cfg.num_attention_heads % cfg.num_key_value_heads != 0) {
    root.fail("num_key_value_heads", "num_attention_heads (" + std::to_string(cfg.num_attention_heads) +
                                         ") must be a multiple of num_key_value_heads (" +
                                         std::to_string(cfg.num_key_value_heads) + ")");
  }
  if (const auto head_dim = root.opt_size("head_dim", kMaxHeadDim)) {
    cfg.head_dim = *head_dim;
  } else if (cfg.hidden_size % cfg.num_attention_heads != 0) {
    root.fail("head_dim", "not given, and hidden_size (" + std::to_string(cfg.hidden_size) +
                              ") is not divisible by num_attention_heads (" +
                              std::to_string(cfg.num_attention_heads) + ")");
  } else {
    cfg.head_dim = cfg.hidden_size / cfg.num_attention_heads;
    if (cfg.head_dim > kMaxHeadDim) {
      root.fail("head_dim", "hidden_size / num_attention_heads = " + std::to_string(cfg.head_dim) +
                                " is larger than tessera's limit of " + std::to_string(kMaxHeadDim));
    }
  }
  cfg.rms_norm_eps = root.opt_number("rms_norm_eps").value_or(1e-6);
  if (!(cfg.rms_norm_eps > 0)) {
    root.fail("rms_norm_eps", "expected a positive number, found " + std::to_string(cfg.rms_norm_eps));
  }
  // Each field alone can be in range while together they describe a model no machine holds.
  if (const std::int64_t n = parameter_count(cfg); n > kMaxParameters) {
    root.fail("num_hidden_layers", "the sizes imply " + std::to_string(n) +
                                       " weights, more than tessera's limit of " +
                                       std::to_string(kMaxParameters));
  }
}

}  // namespace tessera::runtime
