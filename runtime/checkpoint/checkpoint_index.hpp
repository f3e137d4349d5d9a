#pragma once
// `model.safetensors.index.json`: which shard file holds each tensor of a sharded checkpoint.
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace tessera::runtime {

// Tensor name -> shard file name, from the index's `weight_map`. Shard names are checked to be
// plain file names, so an index can never point outside the model folder. Throws
// Error(checkpoint) naming `index_path` and the offending entry.
std::map<std::string, std::string, std::less<>> parse_checkpoint_index(
    std::string_view json_text, const std::filesystem::path& index_path);

}  // namespace tessera::runtime
