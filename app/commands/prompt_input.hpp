#pragma once
// Turns the prompt flags of a command into token ids: `--prompt-ids 1,17,300`, or `--prompt TEXT`
// encoded with the model's tokenizer, optionally wrapped as one user message by the model's chat
// template (`--chat`), as HF's apply_chat_template does.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tessera::app {

struct PromptFlags {
  std::string prompt_ids;  // comma-separated, or empty
  std::string prompt;      // text, or empty
  bool chat = false;
};

// Exactly one of prompt_ids and prompt must be given; errors name the flags.
std::vector<std::int32_t> resolve_prompt(const PromptFlags& flags,
                                         const std::filesystem::path& model_dir,
                                         std::int64_t vocab_size);

}  // namespace tessera::app
