#pragma once
// The size fields of config.json (vocabulary, widths, heads, layers, context), each checked
// against config_limits where it is read, and the weight count they imply checked as a whole.
#include "runtime/model/config_json.hpp"
#include "runtime/model/model_config.hpp"

namespace tessera::runtime {

// Fills the size fields and rms_norm_eps of `cfg`; Error(config) naming the field and the bound.
void parse_model_sizes(const ConfigObject& root, ModelConfig& cfg);

}  // namespace tessera::runtime
