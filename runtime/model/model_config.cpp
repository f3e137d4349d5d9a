#include "runtime/model/model_config.hpp"

#include "runtime/model/config_json.hpp"
#include "runtime/model/model_config_sizes.hpp"
#include "runtime/models/registry.hpp"

namespace tessera::runtime {

namespace {

// The architecture config.json names: `architectures[0]`, else `model_type`.
const Architecture& find_architecture(const ConfigObject& root, ModelConfig& cfg) {
  if (const auto* archs = root.opt_array("architectures"); archs != nullptr && !archs->empty()) {
    const auto& first = (*archs)[0];
    if (!first.is_string()) root.fail("architectures", "expected a list of class name strings");
    cfg.architecture = first.get<std::string>();
    if (const Architecture* a = find_architecture_by_class(cfg.architecture)) return *a;
    root.fail("architectures", "'" + cfg.architecture + "' is not supported (supported: " +
                                   supported_architectures(false) + ")",
              ErrorCategory::unsupported);
  }
  const auto model_type = root.opt_string("model_type");
  if (!model_type) root.fail("architectures", "neither 'architectures' nor 'model_type' is given");
  cfg.architecture = *model_type;
  if (const Architecture* a = find_architecture_by_model_type(*model_type)) return *a;
  root.fail("model_type", "'" + *model_type + "' is not supported (supported: " +
                              supported_architectures(true) + ")",
            ErrorCategory::unsupported);
}

}  // namespace

std::vector<std::int64_t> ModelConfig::layer_sliding_windows() const {
  std::vector<std::int64_t> windows;
  windows.reserve(stack.layers.size());
  for (const LayerSpec& layer : stack.layers) windows.push_back(layer.attention.window);
  return windows;
}

ModelConfig ModelConfig::parse(const std::string& json_text, const std::string& source) {
  const nlohmann::json doc = parse_config_json(json_text, source);
  if (!doc.is_object()) {
    throw Error(ErrorCategory::config, "config '" + source + "': expected a JSON object, found " +
                                           std::string(doc.type_name()));
  }
  const ConfigObject root(doc, source);
  ModelConfig cfg;
  const Architecture& architecture = find_architecture(root, cfg);
  cfg.model_type = architecture.model_type();
  cfg.tie_word_embeddings = root.opt_bool("tie_word_embeddings").value_or(false);
  parse_model_sizes(root, cfg);
  if (auto dtype = root.opt_string("torch_dtype")) {
    cfg.torch_dtype = std::move(*dtype);
  } else if (auto v5_dtype = root.opt_string("dtype")) {
    cfg.torch_dtype = std::move(*v5_dtype);
  }
  architecture.configure(root, cfg);
  return cfg;
}

ModelConfig ModelConfig::load(const std::filesystem::path& model_dir) {
  const auto path = model_dir / "config.json";
  return parse(read_config_file(path), path.string());
}

}  // namespace tessera::runtime
