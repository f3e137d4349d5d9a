#pragma once
// Typed, validated access to the fields of a JSON config file. Every failure names the file and
// the field (with its path inside nested objects, e.g. `rope_scaling.factor`) and says what type
// or range was expected and what was found, so a bad config can be fixed from the message alone.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/core/error.hpp"

namespace tessera::runtime {

// Reads a whole file; Error(io) naming it when it cannot be read.
std::string read_config_file(const std::filesystem::path& path);
// Parses JSON text with bounded nesting (runtime/core/json_parse.hpp); Error(config) naming
// `source` and the parser's position message.
nlohmann::json parse_config_json(const std::string& text, const std::string& source);
// A short rendering of a value for an error message: scalars as written (cut at 60 characters),
// lists and objects by their size only, so a huge or deep value costs nothing to report.
std::string describe_json_value(const nlohmann::json& value);

// A view of one JSON object of a config. A field that is absent or null counts as "not given",
// as HF transformers treats `None`.
class ConfigObject {
 public:
  // `prefix` is how this object is reached from the file's root ("" or "rope_scaling.").
  ConfigObject(const nlohmann::json& object, std::string source, std::string prefix = "");

  bool has(std::string_view key) const;
  const nlohmann::json* get(std::string_view key) const;  // nullptr when absent or null

  std::optional<std::int64_t> opt_int(std::string_view key) const;
  std::optional<double> opt_number(std::string_view key) const;
  std::optional<bool> opt_bool(std::string_view key) const;
  std::optional<std::string> opt_string(std::string_view key) const;
  std::optional<ConfigObject> opt_object(std::string_view key) const;
  const nlohmann::json* opt_array(std::string_view key) const;

  std::int64_t req_int(std::string_view key) const;
  double req_number(std::string_view key) const;
  // Required / optional integer that must be > 0.
  std::int64_t req_positive_int(std::string_view key) const;
  std::optional<std::int64_t> opt_positive_int(std::string_view key) const;
  // A size: an integer in [1, max]; past `max` the message names the bound as tessera's limit.
  std::int64_t req_size(std::string_view key, std::int64_t max) const;
  std::optional<std::int64_t> opt_size(std::string_view key, std::int64_t max) const;

  // "rope_scaling.factor": the field as the user would look for it in the file.
  std::string field(std::string_view key) const { return prefix_ + std::string(key); }
  const std::string& source() const { return source_; }
  const nlohmann::json& raw() const { return *object_; }

  [[noreturn]] void fail(std::string_view key, const std::string& what,
                         ErrorCategory category = ErrorCategory::config) const;

 private:
  [[noreturn]] void wrong_type(std::string_view key, const char* expected) const;

  const nlohmann::json* object_;
  std::string source_;
  std::string prefix_;
};

// Converts a JSON integer to int64; nullopt for non-integers and values out of range.
std::optional<std::int64_t> json_to_int64(const nlohmann::json& value);

}  // namespace tessera::runtime
