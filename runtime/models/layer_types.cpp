#include "runtime/models/layer_types.hpp"

#include <string>

namespace tessera::runtime {

std::optional<std::vector<bool>> parse_sliding_layers(const ConfigObject& root,
                                                      std::int64_t layers) {
  const auto* types = root.opt_array("layer_types");
  if (types == nullptr) return std::nullopt;
  const auto count = static_cast<std::size_t>(layers);
  if (types->size() != count) {
    root.fail("layer_types", "expected " + std::to_string(count) +
                                 " entries (num_hidden_layers), found " +
                                 std::to_string(types->size()));
  }
  std::vector<bool> sliding(count, false);
  for (std::size_t i = 0; i < count; ++i) {
    const auto& t = (*types)[i];
    if (t == "sliding_attention") {
      sliding[i] = true;
    } else if (t != "full_attention") {
      root.fail("layer_types", "entry " + std::to_string(i) + " is " + describe_json_value(t) +
                                   "; supported: full_attention, sliding_attention",
                t.is_string() ? ErrorCategory::unsupported : ErrorCategory::config);
    }
  }
  return sliding;
}

}  // namespace tessera::runtime
