#include "runtime/checkpoint/checkpoint_index.hpp"

#include <nlohmann/json.hpp>

#include "runtime/core/error.hpp"
#include "runtime/core/json_parse.hpp"

namespace tessera::runtime {

namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw Error(ErrorCategory::checkpoint, "checkpoint index '" + path.string() + "': " + what);
}

bool is_plain_file_name(std::string_view s) {
  return !s.empty() && s.find('/') == std::string_view::npos &&
         s.find('\\') == std::string_view::npos && s.find("..") == std::string_view::npos &&
         s.find('\0') == std::string_view::npos && s != ".";
}

}  // namespace

std::map<std::string, std::string, std::less<>> parse_checkpoint_index(
    std::string_view json_text, const std::filesystem::path& index_path) {
  const nlohmann::json index = parse_json(json_text, "checkpoint index '" + index_path.string() + "'",
                                          ErrorCategory::checkpoint);
  if (!index.is_object()) fail(index_path, std::string("expected a JSON object, found ") + index.type_name());
  const auto it = index.find("weight_map");
  if (it == index.end() || !it->is_object()) {
    fail(index_path, "field 'weight_map' missing or not an object of tensor name -> shard file");
  }
  if (it->empty()) fail(index_path, "field 'weight_map' is empty: no tensors");
  std::map<std::string, std::string, std::less<>> map;
  for (const auto& [name, shard] : it->items()) {
    if (!shard.is_string()) {
      fail(index_path, "weight_map entry '" + name + "': expected a shard file name string, found " +
                           shard.type_name());
    }
    auto file = shard.get<std::string>();
    if (!is_plain_file_name(file)) {
      fail(index_path, "weight_map entry '" + name + "': shard '" + file +
                           "' must be a plain file name inside the model folder (no '/' or '..')");
    }
    map.emplace(name, std::move(file));
  }
  return map;
}

}  // namespace tessera::runtime
