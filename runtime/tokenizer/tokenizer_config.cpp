#include "runtime/tokenizer/tokenizer_config.hpp"

#include <nlohmann/json.hpp>

#include "runtime/core/error.hpp"
#include "runtime/core/json_parse.hpp"
#include "runtime/tokenizer/tokenizer_file.hpp"
#include "runtime/tokenizer/tokenizer_limits.hpp"

namespace tessera::runtime {
namespace {

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
  throw Error(ErrorCategory::config, file.string() + ": " + what);
}

// Special tokens are written either as plain strings or as AddedToken objects.
std::string token_string(const nlohmann::json& j, const char* key,
                         const std::filesystem::path& file) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto content = it->find("content");
    if (content != it->end() && content->is_string()) return content->get<std::string>();
  }
  fail(file, std::string(key) + ": expected a string or an object with a string \"content\"");
}

std::string read_chat_template(const nlohmann::json& j, const std::filesystem::path& file) {
  auto it = j.find("chat_template");
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {
    // Several named templates: the one named "default" is what chat completion uses.
    for (std::size_t i = 0; i < it->size(); ++i) {
      const auto& entry = (*it)[i];
      if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
          !entry["name"].is_string() || !entry["template"].is_string()) {
        fail(file, "chat_template[" + std::to_string(i) +
                       "]: expected {\"name\": string, \"template\": string}");
      }
      if (entry["name"] == "default") return entry["template"].get<std::string>();
    }
    return {};
  }
  fail(file, "chat_template: expected a string or a list of named templates");
}

}  // namespace

TokenizerConfig TokenizerConfig::load(const std::filesystem::path& file) {
  TokenizerConfig config;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return config;
  const std::string text =
      read_tokenizer_file(file, tokenizer_limits::kMaxTokenizerConfigBytes, ErrorCategory::config);
  const nlohmann::json j = parse_json(text, file.string(), ErrorCategory::config);
  if (!j.is_object()) fail(file, "expected a JSON object");
  config.bos_token = token_string(j, "bos_token", file);
  config.eos_token = token_string(j, "eos_token", file);
  config.chat_template = read_chat_template(j, file);
  return config;
}

}  // namespace tessera::runtime
