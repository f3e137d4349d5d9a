#pragma once
// The parts of tokenizer_config.json tessera uses: BOS/EOS token strings and the chat template.
#include <filesystem>
#include <string>

namespace tessera::runtime {

struct TokenizerConfig {
  std::string bos_token;
  std::string eos_token;
  std::string chat_template;

  // A missing file gives an empty config; a malformed one throws Error(config) naming the field.
  static TokenizerConfig load(const std::filesystem::path& file);
};

}  // namespace tessera::runtime
