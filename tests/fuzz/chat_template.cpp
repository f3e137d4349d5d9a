// Chat templates (from a model folder) rendered over messages (from HTTP clients), as the server
// renders them: parsed once per template, rendered with add_generation_prompt and any extra
// variables. The interpreter must bound its own work: a template that loops, recurses or grows
// its output without end has to fail with an Error, not time out or exhaust memory (libFuzzer's
// -timeout and -malloc_limit_mb turn both into findings).
//
// Input, one of:
//  - template text, optionally followed by kMessages and a JSON document: an array of messages,
//    or an object {"messages": [...], "extra": {...}, "add_generation_prompt": bool} (the shape
//    of tests/data/chat/conversations.json). Without it, a conversation of every message kind.
//  - kProgram and bytes that TemplateWriter reads as choices to write the template.
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/chat/chat_template.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/json_parse.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/template_writer.hpp"

namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kMessages = "\n#messages\n";
constexpr std::string_view kProgram = "#template-program\n";

const Json& default_conversation() {
  static const Json conversation = Json::parse(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
      "function": {"name": "f", "arguments": "{\"a\": 1}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "2"},
    {"role": "assistant", "content": "Done."},
    {"role": "user", "content": "Again?"}])");
  return conversation;
}

// The server's limits, with the step and memory budgets cut to a tenth and a quarter: a render
// at its budget then takes a fraction of the per-input timeout even under ASan on a loaded
// machine, so a timeout or out-of-memory finding means work that escaped the budget, not a
// budget that is merely large.
tessera::runtime::RenderLimits fuzz_limits() {
  tessera::runtime::RenderLimits limits;
  limits.max_steps = 1'000'000;
  limits.max_value_bytes = 64u << 20;
  return limits;
}

void render(const std::string& source, const Json& document) {
  Json messages = document, extra = Json::object();
  bool add_generation_prompt = true;
  if (document.is_object()) {
    messages = document.value("messages", Json::array());
    if (auto it = document.find("extra"); it != document.end()) extra = *it;
    if (auto it = document.find("add_generation_prompt"); it != document.end() && it->is_boolean()) {
      add_generation_prompt = it->get<bool>();
    }
  }
  const tessera::runtime::ChatTemplate chat_template(source, "<s>", "</s>", fuzz_limits());
  (void)chat_template.render(messages, add_generation_prompt, extra);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = tessera::fuzz::as_text(data, size);
  try {
    if (input.starts_with(kProgram)) {
      FuzzedDataProvider in(data + kProgram.size(), size - kProgram.size());
      render(tessera::fuzz::TemplateWriter(in).program(), default_conversation());
      return 0;
    }
    const auto parts = tessera::fuzz::split_once(input, kMessages);
    // Messages are parsed as the server parses a request body: bounded in depth.
    const Json document = parts.found ? tessera::parse_ordered_json(parts.second, "the messages",
                                                                    tessera::ErrorCategory::invalid_argument)
                                      : default_conversation();
    render(std::string(parts.first), document);
  } catch (const tessera::Error&) {
    // A template or messages refused, with a message, is the expected outcome.
  }
  return 0;
}
