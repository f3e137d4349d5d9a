// `tessera chat-template`: renders a model's chat template on a conversation and prints the
// prompt as one JSON string line, for checking tessera's rendering against HF transformers.
//   tessera chat-template --model DIR --messages FILE [--add-generation-prompt] [--extra JSON]
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "app/commands/registry.hpp"
#include "runtime/chat/chat_template.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/json_parse.hpp"

namespace tessera::app {
namespace {

using nlohmann::ordered_json;
using tessera::Error;
using tessera::ErrorCategory;

struct ChatTemplateOptions {
  std::string model_dir;
  std::string messages_file;
  std::string extra = "{}";
  bool add_generation_prompt = false;
};

// Ordered JSON keeps the file's key order, which tojson in templates reproduces.
ordered_json read_messages(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCategory::io, "cannot open messages file " + path);
  std::stringstream text;
  text << in.rdbuf();
  ordered_json messages = tessera::parse_ordered_json(text.str(), "messages file " + path,
                                                      ErrorCategory::invalid_argument);
  if (!messages.is_array())
    throw Error(ErrorCategory::invalid_argument, "messages file " + path + ": expected a JSON array of messages");
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      throw Error(ErrorCategory::invalid_argument, "messages file " + path + ": message " + std::to_string(i) +
                                                       " must be an object with a string \"role\"");
  }
  return messages;
}

ordered_json parse_extra(const std::string& text) {
  ordered_json extra =
      tessera::parse_ordered_json(text, "--extra", ErrorCategory::invalid_argument);
  if (!extra.is_object()) throw Error(ErrorCategory::invalid_argument, "--extra: expected a JSON object");
  return extra;
}

void run_chat_template(const ChatTemplateOptions& options) {
  ordered_json messages = read_messages(options.messages_file);
  ordered_json extra = parse_extra(options.extra);
  auto chat_template = runtime::ChatTemplate::from_model_dir(options.model_dir);
  std::string prompt = chat_template.render(messages, options.add_generation_prompt, extra);
  std::cout << ordered_json(prompt).dump(-1, ' ', false, ordered_json::error_handler_t::replace) << '\n';
}

void add_chat_template_command(CLI::App& root) {
  auto options = std::make_shared<ChatTemplateOptions>();
  CLI::App* cmd = root.add_subcommand("chat-template", "Render a model's chat template on a conversation");
  cmd->add_option("--model", options->model_dir, "Model folder with tokenizer_config.json")->required();
  cmd->add_option("--messages", options->messages_file, "JSON file holding an array of messages")->required();
  cmd->add_flag("--add-generation-prompt", options->add_generation_prompt,
                "End with the prompt for the assistant's next turn");
  cmd->add_option("--extra", options->extra, "JSON object of further template variables (tools, enable_thinking, ...)");
  cmd->callback([options] { run_chat_template(*options); });
}

const CommandRegistration registration{"chat-template", &add_chat_template_command};

}  // namespace
}  // namespace tessera::app
