#include "app/commands/prompt_input.hpp"

#include <nlohmann/json.hpp>

#include "app/commands/token_id_list.hpp"
#include "runtime/chat/chat_template.hpp"
#include "runtime/core/error.hpp"
#include "runtime/tokenizer/tokenizer.hpp"

namespace tessera::app {

std::vector<std::int32_t> resolve_prompt(const PromptFlags& flags,
                                         const std::filesystem::path& model_dir,
                                         std::int64_t vocab_size) {
  const bool has_ids = !flags.prompt_ids.empty();
  const bool has_text = !flags.prompt.empty();
  if (has_ids == has_text) {
    throw Error(ErrorCategory::invalid_argument,
                "give the prompt either as --prompt TEXT or as --prompt-ids 1,2,3 (exactly one)");
  }
  if (has_ids) {
    if (flags.chat) {
      throw Error(ErrorCategory::invalid_argument, "--chat applies to --prompt TEXT, not --prompt-ids");
    }
    return parse_token_id_list(flags.prompt_ids, "--prompt-ids", vocab_size);
  }
  const runtime::Tokenizer tokenizer = runtime::Tokenizer::load(model_dir);
  if (!flags.chat) return tokenizer.encode(flags.prompt, /*add_special_tokens=*/true);
  const auto chat_template = runtime::ChatTemplate::from_model_dir(model_dir);
  const nlohmann::json messages = nlohmann::json::array({{{"role", "user"}, {"content", flags.prompt}}});
  // The rendered template already holds its special tokens (BOS included), so it is encoded
  // without adding them again, as HF's apply_chat_template does.
  return tokenizer.encode(chat_template.render(messages, /*add_generation_prompt=*/true),
                          /*add_special_tokens=*/false);
}

}  // namespace tessera::app
