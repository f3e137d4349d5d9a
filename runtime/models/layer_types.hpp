#pragma once
// config.json's `layer_types`: which layers attend through a sliding window.
#include <cstdint>
#include <optional>
#include <vector>

#include "runtime/model/config_json.hpp"

namespace tessera::runtime {

// Per layer, true for "sliding_attention" and false for "full_attention"; nullopt when the field
// is absent. Throws Error naming `layer_types` for a wrong length or another entry.
std::optional<std::vector<bool>> parse_sliding_layers(const ConfigObject& root,
                                                      std::int64_t layers);

}  // namespace tessera::runtime
