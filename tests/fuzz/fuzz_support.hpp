#pragma once
// What the harnesses share: files for APIs that only read from a folder, the committed model, and
// the boundary numbers that plain mutation never produces but that break parsers (the values just
// past every integer width, doubles that overflow).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fuzzer/FuzzedDataProvider.h>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace tessera::fuzz {

// A folder of this process's own, emptied by each call: $TESSERA_FUZZ_SCRATCH (scripts/fuzz
// points it at /dev/shm) or the system's temporary folder. Per process, because libFuzzer's
// -jobs/-fork workers run side by side.
const std::filesystem::path& fresh_scratch_dir();
// Writes `bytes` to `name` inside the scratch folder and returns its path.
std::filesystem::path write_scratch_file(std::string_view name, std::string_view bytes);

std::string read_file(const std::filesystem::path& path);
// The source tree; models/kjv-tiny, the model committed with it; a file of tests/fuzz/data.
const std::filesystem::path& source_dir();
const std::filesystem::path& model_dir();
std::filesystem::path data_file(std::string_view name);

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits the input at the first `separator`: what is before it and what is after (nothing after,
// and `found` false, when the separator is absent). Keeps two-part inputs plain text, so that
// dictionary tokens and the corpus stay readable.
struct Parts {
  std::string_view first, second;
  bool found = false;
};
Parts split_once(std::string_view text, std::string_view separator);

// Numbers at the edges of int32, uint32, int64, uint64 and double, as text.
std::span<const char* const> boundary_numbers();
// One of them (or a small number) chosen by the input.
std::string pick_number(FuzzedDataProvider& in);

}  // namespace tessera::fuzz
