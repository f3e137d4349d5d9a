#pragma once
// Shared helpers for the tokenizer tests: the reference tokenizer folders (fetched by CTest's
// fixture), a per-process cache of loaded tokenizers, and the HF golden files.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "runtime/tokenizer/tokenizer.hpp"

namespace tessera::runtime::test {

inline std::filesystem::path reference_dir(const std::string& name) {
  return std::filesystem::path(TESSERA_REFERENCE_TOKENIZERS_DIR) / name;
}

inline std::filesystem::path golden_path(const std::string& name) {
  return std::filesystem::path(TESSERA_TEST_DATA_DIR) / "tokenizer" / "golden" / (name + ".json");
}

// Loading a 10 MB tokenizer.json takes a while; each test process loads each one once.
inline const Tokenizer& reference_tokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    it = cache.emplace(name, std::make_unique<Tokenizer>(Tokenizer::load(reference_dir(name))))
             .first;
  }
  return *it->second;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  return nlohmann::json::parse(read_file(path));
}

// Shows control characters and non-ASCII bytes so failing cases are readable in test logs.
inline std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace tessera::runtime::test
