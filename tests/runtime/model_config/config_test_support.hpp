#pragma once
// Helpers for config tests: JSON edits on a base config, a scratch folder, and error checks.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"

namespace tessera::test {

class ConfigDir {
 public:
  ConfigDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tessera-config-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ConfigDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ConfigDir(const ConfigDir&) = delete;
  ConfigDir& operator=(const ConfigDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
  }

 private:
  std::filesystem::path path_;
};

template <class F>
tessera::Error config_error(F&& f) {
  try {
    f();
  } catch (const tessera::Error& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected tessera::Error, got another exception: " << e.what();
    return tessera::Error(tessera::ErrorCategory::internal, "");
  }
  ADD_FAILURE() << "expected tessera::Error, nothing was thrown";
  return tessera::Error(tessera::ErrorCategory::internal, "");
}

inline void expect_mentions(const tessera::Error& e, tessera::ErrorCategory category,
                            const std::vector<std::string>& needles) {
  EXPECT_EQ(e.category(), category) << "message: " << e.what();
  const std::string message = e.what();
  for (const auto& n : needles) EXPECT_NE(message.find(n), std::string::npos) << "'" << n << "' not in: " << message;
}

}  // namespace tessera::test
