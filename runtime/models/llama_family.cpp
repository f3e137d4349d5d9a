// Llama 2/3/3.1 and its variants Mistral, Qwen2/2.5 and Qwen3: pre-norm decoders with SiLU-gated
// MLPs that differ only in biases, q/k norms and which layers use a sliding window.
#include <optional>
#include <string>

#include "runtime/model/config_json.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/model/model_config_rope.hpp"
#include "runtime/models/architecture.hpp"
#include "runtime/models/hf_names.hpp"
#include "runtime/models/layer_types.hpp"
#include "runtime/models/llama_family.hpp"

namespace tessera::runtime {
namespace {

using Variant = LlamaVariant;

// HF's defaults when config.json leaves these out (MistralConfig, Qwen2Config, Qwen3Config).
constexpr std::int64_t kDefaultSlidingWindow = 4096;
constexpr std::int64_t kDefaultMaxWindowLayers = 28;

struct Biases {
  bool qkv = false, o = false, mlp = false;
};

Biases parse_biases(const ConfigObject& root, Variant variant) {
  switch (variant) {
    case Variant::qwen2:  // Qwen2 always biases q/k/v, never o_proj or the MLP
      return {true, false, false};
    case Variant::mistral:  // MistralAttention and MistralMLP hard-code bias=False
      return {};
    case Variant::llama: {
      const bool attention = root.opt_bool("attention_bias").value_or(false);
      return {attention, attention, root.opt_bool("mlp_bias").value_or(false)};
    }
    case Variant::qwen3: {
      const bool attention = root.opt_bool("attention_bias").value_or(false);
      return {attention, attention, false};
    }
  }
  return {};
}

// The window a "sliding" layer uses, as HF resolves it: nullopt when sliding is off.
std::optional<std::int64_t> effective_sliding_window(const ConfigObject& root, Variant variant) {
  auto window = [&root]() -> std::optional<std::int64_t> {
    if (!root.raw().contains("sliding_window")) return kDefaultSlidingWindow;
    return root.opt_positive_int("sliding_window");  // null: no window
  };
  switch (variant) {
    case Variant::llama:
      return std::nullopt;
    case Variant::mistral:
      return window();
    case Variant::qwen2:
    case Variant::qwen3:
      // Qwen configs ship a sliding_window value even when it is off; only this flag turns it on.
      if (!root.opt_bool("use_sliding_window").value_or(false)) return std::nullopt;
      return window();
  }
  return std::nullopt;
}

std::vector<std::int64_t> sliding_windows(const ConfigObject& root, Variant variant,
                                          std::int64_t layers) {
  std::vector<std::int64_t> windows(static_cast<std::size_t>(layers), 0);
  const auto window = effective_sliding_window(root, variant);
  // Llama has no sliding window; Mistral's modeling code applies sliding_window to every layer
  // and ignores layer_types.
  if (variant == Variant::qwen2 || variant == Variant::qwen3) {
    if (const auto sliding = parse_sliding_layers(root, layers)) {
      for (std::size_t i = 0; i < windows.size(); ++i) {
        if ((*sliding)[i]) windows[i] = window.value_or(0);
      }
      return windows;
    }
  }
  if (!window) return windows;
  if (variant == Variant::mistral) return std::vector<std::int64_t>(windows.size(), *window);
  // Qwen: the first max_window_layers layers attend fully, the rest use the window.
  const auto full_layers = root.opt_int("max_window_layers").value_or(kDefaultMaxWindowLayers);
  if (full_layers < 0) {
    root.fail("max_window_layers",
              "expected a non-negative integer, found " + std::to_string(full_layers));
  }
  for (std::size_t i = 0; i < windows.size(); ++i) {
    if (static_cast<std::int64_t>(i) >= full_layers) windows[i] = *window;
  }
  return windows;
}

class LlamaFamily final : public Architecture {
 public:
  LlamaFamily(Variant variant, std::string_view class_name, std::string_view model_type)
      : variant_(variant), class_name_(class_name), model_type_(model_type) {}

  std::string_view class_name() const override { return class_name_; }
  std::string_view model_type() const override { return model_type_; }

  void configure(const ConfigObject& root, ModelConfig& cfg) const override {
    configure_llama_stack(root, cfg, variant_);
  }

 private:
  Variant variant_;
  std::string_view class_name_, model_type_;
};

}  // namespace

void configure_llama_stack(const ConfigObject& root, ModelConfig& cfg, LlamaVariant variant) {
  StackSpec& stack = cfg.stack;
  stack.ropes = {parse_rope_config(root)};
  const Biases biases = parse_biases(root, variant);
  const auto windows = sliding_windows(root, variant, cfg.num_hidden_layers);
  stack.embed_tokens = hf_names::kEmbedTokens;
  // Tied models use the embedding as the output projection (HF ties them even when a
  // checkpoint also stores lm_head.weight).
  stack.lm_head = cfg.tie_word_embeddings ? hf_names::kEmbedTokens : hf_names::kLmHead;
  stack.final_norm = {std::string(hf_names::kFinalNorm), 0.0f};
  for (std::int64_t i = 0; i < cfg.num_hidden_layers; ++i) {
    LayerSpec layer;
    layer.input_norm = hf_names::layer_norm(i, "input_layernorm", 0.0f);
    layer.attention = hf_names::attention(i);
    layer.attention.qkv_bias = biases.qkv;
    layer.attention.o_bias = biases.o;
    if (variant == Variant::qwen3) {  // RMSNorm over each head of q and k before RoPE
      layer.attention.q_norm = hf_names::attention_head_norm(i, "q_norm", 0.0f);
      layer.attention.k_norm = hf_names::attention_head_norm(i, "k_norm", 0.0f);
    }
    layer.attention.window = windows[static_cast<std::size_t>(i)];
    layer.mlp_norm = hf_names::layer_norm(i, "post_attention_layernorm", 0.0f);
    layer.mlp = hf_names::mlp(i, Activation::silu);
    layer.mlp.bias = biases.mlp;
    stack.layers.push_back(std::move(layer));
  }
}

const Architecture& llama_architecture() {
  static const LlamaFamily a(Variant::llama, "LlamaForCausalLM", "llama");
  return a;
}
const Architecture& mistral_architecture() {
  static const LlamaFamily a(Variant::mistral, "MistralForCausalLM", "mistral");
  return a;
}
const Architecture& qwen2_architecture() {
  static const LlamaFamily a(Variant::qwen2, "Qwen2ForCausalLM", "qwen2");
  return a;
}
const Architecture& qwen3_architecture() {
  static const LlamaFamily a(Variant::qwen3, "Qwen3ForCausalLM", "qwen3");
  return a;
}

}  // namespace tessera::runtime
