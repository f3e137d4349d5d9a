// model.safetensors.index.json from the input, beside the real shards of a committed sharded
// model (tests/data/models/mistral_sliding, linked, not copied): parsed on its own, then opened as
// the model's checkpoint and every tensor read. The index decides which files are opened, so
// its names (paths, "..", duplicates, missing shards) matter as much as its JSON.
#include <cstdint>
#include <filesystem>
#include <string>

#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/checkpoint/checkpoint_index.hpp"
#include "runtime/core/error.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

const std::filesystem::path& shard_dir() {
  static const auto dir = tessera::fuzz::source_dir() / "tests/data/models/mistral_sliding";
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = tessera::fuzz::as_text(data, size);
  try {
    (void)tessera::runtime::parse_checkpoint_index(text, "model.safetensors.index.json");
  } catch (const tessera::Error&) {
    return 0;  // refused with a message: nothing more to open
  }

  const auto& dir = tessera::fuzz::fresh_scratch_dir();
  for (const auto& shard : std::filesystem::directory_iterator(shard_dir())) {
    if (shard.path().extension() == ".safetensors") {
      std::filesystem::create_symlink(shard.path(), dir / shard.path().filename());
    }
  }
  tessera::fuzz::write_scratch_file("model.safetensors.index.json", text);
  try {
    const auto checkpoint = tessera::runtime::Checkpoint::open(dir);
    for (const auto& name : checkpoint.names()) (void)checkpoint.read_f32(name);
  } catch (const tessera::Error&) {
  }
  return 0;
}
