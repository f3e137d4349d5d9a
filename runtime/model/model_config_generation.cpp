// GenerationConfig: the token ids that start, pad and end a generation.
#include <system_error>

#include "runtime/model/config_json.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/model/model_config_limits.hpp"

namespace tessera::runtime {

namespace {

using config_limits::kMaxVocabSize;

// Ids index the vocabulary, so they are bounded like vocab_size; an id near INT64_MAX would
// otherwise wrap when narrowed to the 32-bit ids the tokenizer and sampler use.
std::int64_t token_id(const ConfigObject& obj, std::string_view key, const nlohmann::json& value) {
  const auto id = json_to_int64(value);
  if (!id || *id < 0) {
    obj.fail(key, "expected a non-negative token id, found " + describe_json_value(value));
  }
  if (*id >= kMaxVocabSize) {
    obj.fail(key, "token id " + std::to_string(*id) +
                      " is not below tessera's vocabulary limit of " + std::to_string(kMaxVocabSize));
  }
  return *id;
}

}  // namespace

GenerationConfig GenerationConfig::parse(const std::string& json_text, const std::string& source) {
  const nlohmann::json doc = parse_config_json(json_text, source);
  if (!doc.is_object()) {
    throw Error(ErrorCategory::config, "config '" + source + "': expected a JSON object, found " +
                                           std::string(doc.type_name()));
  }
  const ConfigObject root(doc, source);
  GenerationConfig gen;
  if (const auto* eos = root.get("eos_token_id")) {
    if (eos->is_array()) {
      if (eos->size() > static_cast<std::size_t>(config_limits::kMaxEosTokenIds)) {
        root.fail("eos_token_id", "lists " + std::to_string(eos->size()) +
                                      " ids, more than tessera's limit of " +
                                      std::to_string(config_limits::kMaxEosTokenIds));
      }
      for (const auto& id : *eos) gen.eos_token_ids.push_back(token_id(root, "eos_token_id", id));
    } else if (eos->is_number()) {
      gen.eos_token_ids.push_back(token_id(root, "eos_token_id", *eos));
    } else {
      root.fail("eos_token_id", std::string("expected a token id, a list of them or null, found ") +
                                    eos->type_name());
    }
  }
  if (const auto* bos = root.get("bos_token_id")) gen.bos_token_id = token_id(root, "bos_token_id", *bos);
  if (const auto* pad = root.get("pad_token_id"); pad && !(pad->is_number_integer() && *pad < 0)) {
    // Some older Llama configs write -1 for "no padding token"; read that as absent.
    gen.pad_token_id = token_id(root, "pad_token_id", *pad);
  }
  return gen;
}

GenerationConfig GenerationConfig::load(const std::filesystem::path& model_dir) {
  std::error_code ec;
  for (const char* name : {"generation_config.json", "config.json"}) {
    const auto path = model_dir / name;
    if (std::filesystem::exists(path, ec)) return parse(read_config_file(path), path.string());
  }
  return {};
}

}  // namespace tessera::runtime
