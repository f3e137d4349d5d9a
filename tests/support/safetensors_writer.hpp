#pragma once
// Test helpers: a scratch folder per test and a writer for safetensors files, both well-formed
// (from a list of tensors) and deliberately broken (from raw header text and length).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "tests/support/expect_error.hpp"
#include "tests/support/scratch_dir.hpp"

namespace tessera::test {

using TempDir = ScratchDir;

struct RawTensor {
  std::string name;
  std::string dtype;
  std::vector<std::int64_t> shape;
  std::string bytes;
};

inline std::string f32_bytes(const std::vector<float>& values) {
  std::string out(values.size() * 4, '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

inline std::string u16_bytes(const std::vector<std::uint16_t>& values) {
  std::string out;
  for (const auto v : values) {
    out.push_back(static_cast<char>(v & 0xff));
    out.push_back(static_cast<char>(v >> 8));
  }
  return out;
}

inline std::string le_u64(std::uint64_t n) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out;
}

// Length prefix + header text + data, with the length taken from the header unless overridden.
inline std::string raw_safetensors(const std::string& header, const std::string& data = "") {
  return le_u64(header.size()) + header + data;
}

// Header JSON for `tensors` laid out back to back, in order.
inline nlohmann::json header_for(const std::vector<RawTensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", "pt"}};
  std::size_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  return header;
}

inline std::string safetensors(const std::vector<RawTensor>& tensors) {
  std::string data;
  for (const auto& t : tensors) data += t.bytes;
  return raw_safetensors(header_for(tensors).dump(), data);
}

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

}  // namespace tessera::test
