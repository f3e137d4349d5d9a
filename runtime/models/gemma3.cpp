// Gemma 3 text decoders (Gemma3ForCausalLM): sandwich norms (before and after attention and the
// MLP) whose weights scale by 1 + w, q/k norms, a GELU-tanh MLP, embeddings scaled by
// sqrt(hidden), and sliding-window layers with their own RoPE base between global ones. The
// defaults are Gemma3TextConfig's.
#include <cmath>
#include <cstdint>
#include <string>

#include "runtime/model/config_json.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/model/model_config_rope.hpp"
#include "runtime/models/architecture.hpp"
#include "runtime/models/hf_names.hpp"
#include "runtime/models/layer_types.hpp"

namespace tessera::runtime {
namespace {

constexpr std::int64_t kDefaultHeadDim = 256;
constexpr double kDefaultQueryPreAttnScalar = 256;
constexpr std::int64_t kDefaultSlidingWindow = 4096;
constexpr std::int64_t kDefaultSlidingWindowPattern = 6;  // five sliding layers, then a global one
constexpr double kDefaultGlobalRopeTheta = 1'000'000.0;
constexpr double kDefaultLocalRopeTheta = 10'000.0;
constexpr float kNormOffset = 1.0f;  // Gemma's RMSNorm multiplies by 1 + w

// The indices of StackSpec::ropes.
constexpr std::size_t kGlobalRope = 0;
constexpr std::size_t kLocalRope = 1;

// `x` rounded to nearest even with `bits` significant bits (x a normal number of that format).
float round_to_significant_bits(double x, int bits) {
  int exponent = 0;
  const double mantissa = std::frexp(x, &exponent);  // x = mantissa · 2^exponent, |mantissa| in [0.5, 1)
  return static_cast<float>(std::ldexp(std::nearbyint(std::ldexp(mantissa, bits)), exponent - bits));
}

// HF multiplies the embeddings by sqrt(hidden) cast to the embedding's dtype.
float embedding_scale(std::int64_t hidden, const std::string& dtype) {
  const double scale = std::sqrt(static_cast<double>(hidden));
  if (dtype == "bfloat16") return round_to_significant_bits(scale, 8);
  if (dtype == "float16") return round_to_significant_bits(scale, 11);
  return static_cast<float>(scale);
}

void refuse_if_set(const ConfigObject& root, std::string_view key, const std::string& why) {
  if (root.get(key) != nullptr) root.fail(key, why, ErrorCategory::unsupported);
}

void check_unsupported_fields(const ConfigObject& root) {
  refuse_if_set(root, "attn_logit_softcapping", "attention logit soft-capping is not supported");
  refuse_if_set(root, "final_logit_softcapping", "final logit soft-capping is not supported");
  if (root.opt_bool("use_bidirectional_attention").value_or(false)) {
    root.fail("use_bidirectional_attention", "bidirectional attention is not supported",
              ErrorCategory::unsupported);
  }
  const std::string_view key = root.get("hidden_activation") != nullptr ? "hidden_activation"
                                                                         : "hidden_act";
  const auto activation = root.opt_string(key).value_or("gelu_pytorch_tanh");
  if (activation != "gelu_pytorch_tanh") {
    root.fail(key, "'" + activation + "' is not supported (supported: gelu_pytorch_tanh)",
              ErrorCategory::unsupported);
  }
}

// Per layer, whether it slides: `layer_types`, else every `sliding_window_pattern`-th layer is
// global (as Gemma3TextConfig derives layer_types).
std::vector<bool> sliding_layers(const ConfigObject& root, std::int64_t layers) {
  if (auto sliding = parse_sliding_layers(root, layers)) return *sliding;
  const std::string_view key =
      root.get("sliding_window_pattern") != nullptr ? "sliding_window_pattern" : "_sliding_window_pattern";
  const std::int64_t pattern = root.opt_positive_int(key).value_or(kDefaultSlidingWindowPattern);
  std::vector<bool> sliding(static_cast<std::size_t>(layers));
  for (std::size_t i = 0; i < sliding.size(); ++i) {
    sliding[i] = (static_cast<std::int64_t>(i) + 1) % pattern != 0;
  }
  return sliding;
}

// {global, local}: v5 keys rope_parameters by layer type; v4 gives the global RoPE as rope_theta
// and rope_scaling and the local base as rope_local_base_freq.
std::vector<RopeConfig> parse_ropes(const ConfigObject& root) {
  auto positive = [&root](std::string_view key, double fallback) {
    const double v = root.opt_number(key).value_or(fallback);
    if (!(v > 0)) root.fail(key, "expected a positive number, found " + std::to_string(v));
    return v;
  };
  const double global_theta = positive("rope_theta", kDefaultGlobalRopeTheta);
  RopeConfig local;
  local.theta = positive("rope_local_base_freq", kDefaultLocalRopeTheta);
  if (const auto params = root.opt_object("rope_parameters")) {
    const auto full = params->opt_object("full_attention");
    const auto sliding = params->opt_object("sliding_attention");
    if (!full && !sliding) return {parse_rope_parameters(*params, global_theta), local};
    return {full ? parse_rope_parameters(*full, global_theta) : RopeConfig{.theta = global_theta},
            sliding ? parse_rope_parameters(*sliding, local.theta) : local};
  }
  if (const auto scaling = root.opt_object("rope_scaling")) {
    return {parse_rope_parameters(*scaling, global_theta), local};
  }
  return {RopeConfig{.theta = global_theta}, local};
}

class Gemma3 final : public Architecture {
 public:
  std::string_view class_name() const override { return "Gemma3ForCausalLM"; }
  std::string_view model_type() const override { return "gemma3_text"; }

  void configure(const ConfigObject& root, ModelConfig& cfg) const override {
    check_unsupported_fields(root);
    if (root.get("head_dim") == nullptr) cfg.head_dim = kDefaultHeadDim;
    cfg.tie_word_embeddings = root.opt_bool("tie_word_embeddings").value_or(true);
    const double query_scalar = root.opt_number("query_pre_attn_scalar").value_or(kDefaultQueryPreAttnScalar);
    if (!(query_scalar > 0)) {
      root.fail("query_pre_attn_scalar", "expected a positive number, found " + std::to_string(query_scalar));
    }
    const bool attention_bias = root.opt_bool("attention_bias").value_or(false);
    const std::int64_t window = root.raw().contains("sliding_window")
                                    ? root.opt_positive_int("sliding_window").value_or(0)
                                    : kDefaultSlidingWindow;
    const auto sliding = sliding_layers(root, cfg.num_hidden_layers);

    StackSpec& stack = cfg.stack;
    stack.ropes = parse_ropes(root);
    stack.embed_tokens = hf_names::kEmbedTokens;
    stack.embedding_scale = embedding_scale(cfg.hidden_size, cfg.torch_dtype);
    stack.lm_head = cfg.tie_word_embeddings ? hf_names::kEmbedTokens : hf_names::kLmHead;
    stack.final_norm = {std::string(hf_names::kFinalNorm), kNormOffset};
    for (std::int64_t i = 0; i < cfg.num_hidden_layers; ++i) {
      const bool slides = sliding[static_cast<std::size_t>(i)];
      LayerSpec layer;
      layer.input_norm = hf_names::layer_norm(i, "input_layernorm", kNormOffset);
      layer.attention = hf_names::attention(i);
      layer.attention.qkv_bias = layer.attention.o_bias = attention_bias;
      layer.attention.q_norm = hf_names::attention_head_norm(i, "q_norm", kNormOffset);
      layer.attention.k_norm = hf_names::attention_head_norm(i, "k_norm", kNormOffset);
      layer.attention.softmax_scale = static_cast<float>(1.0 / std::sqrt(query_scalar));
      layer.attention.rope = slides ? kLocalRope : kGlobalRope;
      layer.attention.window = slides ? window : 0;
      layer.attention_output_norm = hf_names::layer_norm(i, "post_attention_layernorm", kNormOffset);
      layer.mlp_norm = hf_names::layer_norm(i, "pre_feedforward_layernorm", kNormOffset);
      layer.mlp = hf_names::mlp(i, Activation::gelu_tanh);
      layer.mlp_output_norm = hf_names::layer_norm(i, "post_feedforward_layernorm", kNormOffset);
      stack.layers.push_back(std::move(layer));
    }
  }
};

}  // namespace

const Architecture& gemma3_architecture() {
  static const Gemma3 a;
  return a;
}

}  // namespace tessera::runtime
