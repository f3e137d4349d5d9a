#include "runtime/chat/chat_template.hpp"

#include <fstream>
#include <new>
#include <sstream>

#include "runtime/chat/jinja_interpreter.hpp"
#include "runtime/chat/jinja_parser.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/json_parse.hpp"

namespace tessera::runtime {

struct ChatTemplate::Program {
  jinja::Body body;
};

ChatTemplate::ChatTemplate(std::string template_source, std::string bos_token, std::string eos_token,
                           RenderLimits limits)
    : source_(std::move(template_source)),
      bos_token_(std::move(bos_token)),
      eos_token_(std::move(eos_token)),
      limits_(limits),
      program_(std::make_unique<Program>(Program{jinja::parse_template(source_, limits.max_source_nesting)})) {}

void ChatTemplate::set_limits(const RenderLimits& limits) {
  int parsed_with = limits_.max_source_nesting;
  limits_ = limits;
  limits_.max_source_nesting = parsed_with;
}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(const nlohmann::json& messages, bool add_generation_prompt,
                                 const nlohmann::json& extra) const {
  return render(nlohmann::ordered_json::parse(messages.dump()), add_generation_prompt,
                nlohmann::ordered_json::parse(extra.dump()));
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                 const nlohmann::ordered_json& extra) const {
  if (!messages.is_array()) throw Error(ErrorCategory::chat_template, "chat messages must be a JSON array");
  if (!extra.is_object() && !extra.is_null())
    throw Error(ErrorCategory::chat_template, "extra chat template variables must be a JSON object");
  using jinja::Value;
  jinja::Dict vars;
  try {
    // HF always passes tools and documents, as None when absent.
    vars.set(Value("tools"), Value::none());
    vars.set(Value("documents"), Value::none());
    if (extra.is_object())
      for (auto it = extra.begin(); it != extra.end(); ++it) vars.set(Value(it.key()), Value::from_json(it.value()));
    vars.set(Value("messages"), Value::from_json(messages));
    vars.set(Value("add_generation_prompt"), Value(add_generation_prompt));
    vars.set(Value("bos_token"), Value(bos_token_));
    vars.set(Value("eos_token"), Value(eos_token_));
  } catch (const jinja::RenderError& e) {
    throw Error(ErrorCategory::chat_template, std::string("chat template variables: ") + e.what());
  }
  try {
    return jinja::render(program_->body, vars, limits_);
  } catch (const Error&) {
    throw;
  } catch (const jinja::RenderError& e) {
    // Raised where no template position was known (the interpreter adds one where it can).
    throw Error(ErrorCategory::chat_template, std::string("chat template error: ") + e.what());
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCategory::chat_template, "chat template ran out of memory");
  } catch (const std::exception& e) {
    // Anything else is a bug here, but it must fail this render, not the server.
    throw Error(ErrorCategory::chat_template, std::string("chat template failed: ") + e.what());
  }
}

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCategory::io, "cannot open " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Special tokens appear as plain strings or as AddedToken objects {"content": ...}.
std::string token_text(const nlohmann::json& config, const char* key, const std::filesystem::path& file) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  throw Error(ErrorCategory::config, file.string() + ": " + key + " must be a string or an object with \"content\"");
}

}  // namespace

ChatTemplate ChatTemplate::from_model_dir(const std::filesystem::path& model_dir, RenderLimits limits) {
  std::filesystem::path file = model_dir / "tokenizer_config.json";
  const nlohmann::json config = parse_json(read_file(file), file.string(), ErrorCategory::config);
  if (!config.is_object()) throw Error(ErrorCategory::config, file.string() + ": expected a JSON object");
  std::string source;
  auto it = config.find("chat_template");
  if (it != config.end() && it->is_string()) {
    source = it->get<std::string>();
  } else if (it != config.end() && it->is_array()) {
    bool found = false;
    for (const auto& entry : *it) {
      // Checked before reading: nlohmann's value("name", "") throws its own type_error on a
      // name that is not a string, which is not the Error every bad file must give.
      const auto name = entry.is_object() ? entry.find("name") : entry.end();
      const bool is_default = name != entry.end() && name->is_string() && *name == "default";
      if (is_default && entry.contains("template") && entry["template"].is_string()) {
        source = entry["template"].get<std::string>();
        found = true;
      }
    }
    if (!found)
      throw Error(ErrorCategory::chat_template, file.string() + ": chat_template list has no \"default\" entry");
  } else if (it != config.end() && !it->is_null()) {
    throw Error(ErrorCategory::chat_template,
                file.string() + ": chat_template must be a string or a list of {name, template}");
  } else if (std::filesystem::exists(model_dir / "chat_template.jinja")) {
    source = read_file(model_dir / "chat_template.jinja");
  } else {
    throw Error(ErrorCategory::chat_template,
                file.string() + " has no chat_template (and there is no chat_template.jinja)");
  }
  return ChatTemplate(std::move(source), token_text(config, "bos_token", file), token_text(config, "eos_token", file),
                      limits);
}

}  // namespace tessera::runtime
