#pragma once
// Chat templates: the Jinja programs in tokenizer_config.json that turn a list of messages into
// the prompt text, rendered the way HF transformers renders them (jinja2 with trim_blocks,
// lstrip_blocks, loop controls, raise_exception, strftime_now and a json.dumps-based tojson).
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/chat/render_limits.hpp"

namespace tessera::runtime {

class ChatTemplate {
 public:
  // Parses the template; a syntax error or unsupported construct throws
  // Error(chat_template) naming its line and column. `limits` bound each render (and the
  // nesting the parser accepts); a render that passes one fails with Error(chat_template)
  // naming it.
  ChatTemplate(std::string template_source, std::string bos_token, std::string eos_token,
               RenderLimits limits = {});
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // Renders with the variables HF passes: messages, add_generation_prompt, bos_token,
  // eos_token, tools and documents (None unless `extra` sets them), plus every key of `extra`
  // (an object: tools, enable_thinking, date_string, ...). Messages are an array of objects
  // with "role" and "content" (a string or a list of {type, text} parts) and optional
  // fields such as "tool_calls". Key order matters to tojson, so prefer the ordered overload.
  std::string render(const nlohmann::json& messages, bool add_generation_prompt,
                     const nlohmann::json& extra = nlohmann::json::object()) const;
  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                     const nlohmann::ordered_json& extra) const;

  const std::string& source() const { return source_; }
  const std::string& bos_token() const { return bos_token_; }
  const std::string& eos_token() const { return eos_token_; }
  const RenderLimits& limits() const { return limits_; }
  // For later renders; max_source_nesting only applies when parsing, so it is not changed.
  void set_limits(const RenderLimits& limits);

  // Reads `chat_template` (a string, or a list of {name, template} of which "default" is taken)
  // and bos_token/eos_token (strings or {"content": ...} objects; absent or null -> "") from
  // model_dir/tokenizer_config.json. Newer HF checkpoints keep the template beside it in
  // chat_template.jinja, which is used when the config has none. A missing template throws
  // Error naming the file.
  static ChatTemplate from_model_dir(const std::filesystem::path& model_dir, RenderLimits limits = {});

 private:
  std::string source_;
  std::string bos_token_;
  std::string eos_token_;
  RenderLimits limits_;
  struct Program;
  std::unique_ptr<Program> program_;
};

}  // namespace tessera::runtime
