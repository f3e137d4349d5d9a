#include "runtime/model/model_config.hpp"

#include <array>
#include <string_view>

#include "runtime/model/config_json.hpp"
#include "runtime/model/model_config_rope.hpp"
#include "runtime/model/model_config_sizes.hpp"

namespace tessera::runtime {

namespace {

struct FamilyName {
  std::string_view architecture, model_type;
  ModelFamily family;
};

constexpr std::array<FamilyName, 4> kFamilies = {{
    {"LlamaForCausalLM", "llama", ModelFamily::llama},
    {"MistralForCausalLM", "mistral", ModelFamily::mistral},
    {"Qwen2ForCausalLM", "qwen2", ModelFamily::qwen2},
    {"Qwen3ForCausalLM", "qwen3", ModelFamily::qwen3},
}};

// HF's defaults when config.json leaves these out (MistralConfig, Qwen2Config, Qwen3Config).
constexpr std::int64_t kDefaultSlidingWindow = 4096;
constexpr std::int64_t kDefaultMaxWindowLayers = 28;

std::string supported_list(bool architectures) {
  std::string s;
  for (const auto& f : kFamilies) {
    s += (s.empty() ? "" : ", ") + std::string(architectures ? f.architecture : f.model_type);
  }
  return s;
}

void parse_family(const ConfigObject& root, ModelConfig& cfg) {
  if (const auto* archs = root.opt_array("architectures"); archs != nullptr && !archs->empty()) {
    const auto& first = (*archs)[0];
    if (!first.is_string()) root.fail("architectures", "expected a list of class name strings");
    cfg.architecture = first.get<std::string>();
    for (const auto& f : kFamilies) {
      if (cfg.architecture == f.architecture) {
        cfg.family = f.family;
        return;
      }
    }
    root.fail("architectures", "'" + cfg.architecture + "' is not supported (supported: " +
                                   supported_list(true) + ")",
              ErrorCategory::unsupported);
  }
  const auto model_type = root.opt_string("model_type");
  if (!model_type) root.fail("architectures", "neither 'architectures' nor 'model_type' is given");
  cfg.architecture = *model_type;
  for (const auto& f : kFamilies) {
    if (*model_type == f.model_type) {
      cfg.family = f.family;
      return;
    }
  }
  root.fail("model_type", "'" + *model_type + "' is not supported (supported: " + supported_list(false) + ")",
            ErrorCategory::unsupported);
}

void parse_biases(const ConfigObject& root, ModelConfig& cfg) {
  switch (cfg.family) {
    case ModelFamily::qwen2:  // Qwen2 always biases q/k/v, never o_proj or the MLP
      cfg.attention_bias = true;
      return;
    case ModelFamily::mistral:  // MistralAttention and MistralMLP hard-code bias=False
      return;
    case ModelFamily::llama:
      cfg.mlp_bias = root.opt_bool("mlp_bias").value_or(false);
      [[fallthrough]];
    case ModelFamily::qwen3:
      cfg.attention_bias = cfg.o_proj_bias = root.opt_bool("attention_bias").value_or(false);
      return;
  }
}

// The window a "sliding" layer uses, as HF resolves it: nullopt when sliding is off.
std::optional<std::int64_t> effective_sliding_window(const ConfigObject& root, ModelFamily family) {
  auto window = [&root]() -> std::optional<std::int64_t> {
    if (!root.raw().contains("sliding_window")) return kDefaultSlidingWindow;
    return root.opt_positive_int("sliding_window");  // null: no window
  };
  switch (family) {
    case ModelFamily::llama:
      return std::nullopt;
    case ModelFamily::mistral:
      return window();
    case ModelFamily::qwen2:
    case ModelFamily::qwen3:
      // Qwen configs ship a sliding_window value even when it is off; only this flag turns it on.
      if (!root.opt_bool("use_sliding_window").value_or(false)) return std::nullopt;
      return window();
  }
  return std::nullopt;
}

void parse_sliding_window(const ConfigObject& root, ModelConfig& cfg) {
  const auto layers = static_cast<std::size_t>(cfg.num_hidden_layers);
  cfg.layer_sliding_window.assign(layers, 0);
  const auto window = effective_sliding_window(root, cfg.family);

  // Llama has no sliding window; Mistral's modeling code applies sliding_window to every layer
  // and ignores layer_types.
  const bool uses_layer_types = cfg.family == ModelFamily::qwen2 || cfg.family == ModelFamily::qwen3;
  const auto* types = uses_layer_types ? root.opt_array("layer_types") : nullptr;
  if (types != nullptr) {
    if (types->size() != layers) {
      root.fail("layer_types", "expected " + std::to_string(layers) + " entries (num_hidden_layers), found " +
                                   std::to_string(types->size()));
    }
    for (std::size_t i = 0; i < layers; ++i) {
      const auto& t = (*types)[i];
      if (t == "sliding_attention") {
        cfg.layer_sliding_window[i] = window.value_or(0);
      } else if (t != "full_attention") {
        root.fail("layer_types", "entry " + std::to_string(i) + " is " + describe_json_value(t) +
                                     "; supported: full_attention, sliding_attention",
                  t.is_string() ? ErrorCategory::unsupported : ErrorCategory::config);
      }
    }
    return;
  }
  if (!window) return;
  if (cfg.family == ModelFamily::mistral) {
    cfg.layer_sliding_window.assign(layers, *window);
    return;
  }
  // Qwen: the first max_window_layers layers attend fully, the rest use the window.
  const auto full_layers = root.opt_int("max_window_layers").value_or(kDefaultMaxWindowLayers);
  if (full_layers < 0) root.fail("max_window_layers", "expected a non-negative integer, found " + std::to_string(full_layers));
  for (std::size_t i = 0; i < layers; ++i) {
    if (static_cast<std::int64_t>(i) >= full_layers) cfg.layer_sliding_window[i] = *window;
  }
}

}  // namespace

ModelConfig ModelConfig::parse(const std::string& json_text, const std::string& source) {
  const nlohmann::json doc = parse_config_json(json_text, source);
  if (!doc.is_object()) {
    throw Error(ErrorCategory::config, "config '" + source + "': expected a JSON object, found " +
                                           std::string(doc.type_name()));
  }
  const ConfigObject root(doc, source);
  ModelConfig cfg;
  parse_family(root, cfg);
  cfg.tie_word_embeddings = root.opt_bool("tie_word_embeddings").value_or(false);
  parse_model_sizes(root, cfg);
  cfg.rope = parse_rope_config(root);
  parse_biases(root, cfg);
  cfg.qk_norm = cfg.family == ModelFamily::qwen3;
  parse_sliding_window(root, cfg);
  if (auto dtype = root.opt_string("torch_dtype")) {
    cfg.torch_dtype = std::move(*dtype);
  } else if (auto v5_dtype = root.opt_string("dtype")) {
    cfg.torch_dtype = std::move(*v5_dtype);
  }
  return cfg;
}

ModelConfig ModelConfig::load(const std::filesystem::path& model_dir) {
  const auto path = model_dir / "config.json";
  return parse(read_config_file(path), path.string());
}

}  // namespace tessera::runtime
