#pragma once
// RoPE settings from config.json in either spelling HF transformers writes: the legacy
// `rope_theta` + `rope_scaling` pair (transformers v4) or the `rope_parameters` object (v5).
#include "runtime/model/config_json.hpp"
#include "runtime/model/model_config.hpp"

namespace tessera::runtime {

// Throws Error(config) for missing or mistyped fields and Error(unsupported) for rope types
// tessera does not implement (yarn, dynamic, longrope, ...), naming the field and value.
RopeConfig parse_rope_config(const ConfigObject& root);
// One rope_parameters object (or one layer type's entry of it); `default_theta` when it has no
// rope_theta of its own.
RopeConfig parse_rope_parameters(const ConfigObject& params, double default_theta);
// The root's `rope_theta`, 10,000 when absent.
double parse_rope_theta(const ConfigObject& root);

}  // namespace tessera::runtime
