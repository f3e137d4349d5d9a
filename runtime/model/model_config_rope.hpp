#pragma once
// RoPE settings from config.json in either spelling HF transformers writes: the legacy
// `rope_theta` + `rope_scaling` pair (transformers v4) or the `rope_parameters` object (v5).
#include "runtime/model/config_json.hpp"
#include "runtime/model/model_config.hpp"

namespace tessera::runtime {

// Throws Error(config) for missing or mistyped fields and Error(unsupported) for rope types
// tessera does not implement (yarn, dynamic, longrope, ...), naming the field and value.
RopeConfig parse_rope_config(const ConfigObject& root);

}  // namespace tessera::runtime
