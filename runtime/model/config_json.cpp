#include "runtime/model/config_json.hpp"

#include <fstream>
#include <limits>
#include <sstream>

#include "runtime/core/json_parse.hpp"
#include "runtime/model/model_config_limits.hpp"

namespace tessera::runtime {

using nlohmann::json;

std::string read_config_file(const std::filesystem::path& path) {
  // A FIFO or device under a config name would block or never end; only regular files are read.
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    throw Error(ErrorCategory::io, "cannot read config file '" + path.string() + "': expected a regular file");
  }
  // Read whole and parsed into a tree many times its size: a multi-gigabyte "config" is refused.
  if (const auto size = std::filesystem::file_size(path, ec);
      !ec && size > config_limits::kMaxConfigFileBytes) {
    throw Error(ErrorCategory::config, "config file '" + path.string() + "' is " +
                                           std::to_string(size) + " bytes, more than tessera's limit of " +
                                           std::to_string(config_limits::kMaxConfigFileBytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCategory::io, "cannot open config file '" + path.string() + "'");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(ErrorCategory::io, "cannot read config file '" + path.string() + "'");
  return std::move(text).str();
}

json parse_config_json(const std::string& text, const std::string& source) {
  return parse_json(text, "config '" + source + "'", ErrorCategory::config);
}

std::string describe_json_value(const json& value) {
  if (value.is_array()) return "a list of " + std::to_string(value.size()) + " entries";
  if (value.is_object()) return "an object of " + std::to_string(value.size()) + " fields";
  std::string shown = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
  return std::string(value.type_name()) + " " + shown;
}

std::optional<std::int64_t> json_to_int64(const json& value) {
  if (value.is_number_unsigned()) {
    const auto u = value.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  return std::nullopt;
}

ConfigObject::ConfigObject(const json& object, std::string source, std::string prefix)
    : object_(&object), source_(std::move(source)), prefix_(std::move(prefix)) {}

void ConfigObject::fail(std::string_view key, const std::string& what, ErrorCategory category) const {
  throw Error(category, "config '" + source_ + "': field '" + field(key) + "': " + what);
}

void ConfigObject::wrong_type(std::string_view key, const char* expected) const {
  fail(key, std::string("expected ") + expected + ", found " +
                describe_json_value(object_->at(std::string(key))));
}

const json* ConfigObject::get(std::string_view key) const {
  const auto it = object_->find(key);
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

bool ConfigObject::has(std::string_view key) const { return get(key) != nullptr; }

std::optional<std::int64_t> ConfigObject::opt_int(std::string_view key) const {
  const json* v = get(key);
  if (v == nullptr) return std::nullopt;
  const auto i = json_to_int64(*v);
  if (!i) wrong_type(key, "an integer");
  return i;
}

std::optional<double> ConfigObject::opt_number(std::string_view key) const {
  const json* v = get(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) wrong_type(key, "a number");
  return v->get<double>();
}

std::optional<bool> ConfigObject::opt_bool(std::string_view key) const {
  const json* v = get(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) wrong_type(key, "true or false");
  return v->get<bool>();
}

std::optional<std::string> ConfigObject::opt_string(std::string_view key) const {
  const json* v = get(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) wrong_type(key, "a string");
  return v->get<std::string>();
}

std::optional<ConfigObject> ConfigObject::opt_object(std::string_view key) const {
  const json* v = get(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_object()) wrong_type(key, "an object");
  return ConfigObject(*v, source_, field(key) + ".");
}

const json* ConfigObject::opt_array(std::string_view key) const {
  const json* v = get(key);
  if (v != nullptr && !v->is_array()) wrong_type(key, "a list");
  return v;
}

std::int64_t ConfigObject::req_int(std::string_view key) const {
  const auto v = opt_int(key);
  if (!v) fail(key, "required integer is missing");
  return *v;
}

double ConfigObject::req_number(std::string_view key) const {
  const auto v = opt_number(key);
  if (!v) fail(key, "required number is missing");
  return *v;
}

std::optional<std::int64_t> ConfigObject::opt_positive_int(std::string_view key) const {
  const auto v = opt_int(key);
  if (v && *v <= 0) fail(key, "expected a positive integer, found " + std::to_string(*v));
  return v;
}

std::int64_t ConfigObject::req_positive_int(std::string_view key) const {
  const auto v = opt_positive_int(key);
  if (!v) fail(key, "required positive integer is missing");
  return *v;
}

std::optional<std::int64_t> ConfigObject::opt_size(std::string_view key, std::int64_t max) const {
  const auto v = opt_positive_int(key);
  if (v && *v > max) {
    fail(key, std::to_string(*v) + " is larger than tessera's limit of " + std::to_string(max));
  }
  return v;
}

std::int64_t ConfigObject::req_size(std::string_view key, std::int64_t max) const {
  const auto v = opt_size(key, max);
  if (!v) fail(key, "required positive integer is missing");
  return *v;
}

}  // namespace tessera::runtime
