#pragma once
// One decoder architecture: the config.json fields only it has, and the layer stack it declares
// from the shared blocks. Each lives in its own file under runtime/models/ and is listed once in
// registry.cpp; the transformer runs whatever stack it declared.
#include <string_view>

namespace tessera::runtime {

class ConfigObject;
struct ModelConfig;

class Architecture {
 public:
  virtual ~Architecture() = default;
  // The HF names it answers to: the `architectures` class name and the `model_type`.
  virtual std::string_view class_name() const = 0;
  virtual std::string_view model_type() const = 0;
  // Reads its own fields from config.json's root and fills cfg.stack (and any shared field whose
  // default differs for it). The sizes every decoder has are already in `cfg`. Throws Error naming
  // the file and field, like every config read.
  virtual void configure(const ConfigObject& root, ModelConfig& cfg) const = 0;
};

}  // namespace tessera::runtime
