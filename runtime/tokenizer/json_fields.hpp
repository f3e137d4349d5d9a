#pragma once
// Checked access to tokenizer.json fields: every failure names the file and the JSON path so a
// broken or unsupported tokenizer file can be fixed without reading tessera's source.
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "runtime/core/error.hpp"
#include "runtime/tokenizer/tokenizer_limits.hpp"

namespace tessera::runtime {

class JsonFields {
 public:
  explicit JsonFields(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw Error(ErrorCategory::tokenizer, file_ + ": " + path + ": " + what);
  }
  [[noreturn]] void unknown_type(const std::string& path, const std::string& type) const {
    fail(path + ".type = \"" + type + "\"", "unsupported component type");
  }

  const nlohmann::json& object(const nlohmann::json& j, const std::string& path) const {
    if (!j.is_object()) fail(path, "expected an object");
    return j;
  }
  const nlohmann::json& field(const nlohmann::json& obj, std::string_view key,
                              const std::string& path) const {
    auto it = obj.find(key);
    if (it == obj.end()) fail(path + "." + std::string(key), "missing field");
    return *it;
  }
  std::string string(const nlohmann::json& obj, std::string_view key,
                     const std::string& path) const {
    const auto& v = field(obj, key, path);
    if (!v.is_string()) fail(path + "." + std::string(key), "expected a string");
    return v.get<std::string>();
  }
  // A string field that may be absent or null.
  std::string optional_string(const nlohmann::json& obj, std::string_view key,
                              const std::string& path) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return {};
    if (!it->is_string()) fail(path + "." + std::string(key), "expected a string");
    return it->get<std::string>();
  }
  bool boolean(const nlohmann::json& obj, std::string_view key, const std::string& path,
               bool fallback) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(path + "." + std::string(key), "expected true or false");
    return it->get<bool>();
  }
  long long integer(const nlohmann::json& obj, std::string_view key, const std::string& path,
                    long long lo, long long hi) const {
    const auto& v = field(obj, key, path);
    if (!v.is_number_integer()) fail(path + "." + std::string(key), "expected an integer");
    const auto n = v.get<long long>();
    if (n < lo || n > hi) {
      fail(path + "." + std::string(key), std::to_string(n) + " is out of range [" +
                                              std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return n;
  }
  const nlohmann::json& array(const nlohmann::json& obj, std::string_view key,
                              const std::string& path) const {
    const auto& v = field(obj, key, path);
    if (!v.is_array()) fail(path + "." + std::string(key), "expected an array");
    return v;
  }
  const std::string& file() const { return file_; }

  // Called for each normalizer, pre-tokenizer, post-processor and decoder (Sequences included)
  // the file builds: every one of them runs on every encode or decode.
  void count_component(const std::string& path) const {
    if (++components_ > tokenizer_limits::kMaxComponents) {
      fail(path, "more than " + std::to_string(tokenizer_limits::kMaxComponents) +
                     " components in the file (tessera's limit)");
    }
  }

 private:
  std::string file_;
  mutable std::size_t components_ = 0;
};

}  // namespace tessera::runtime
