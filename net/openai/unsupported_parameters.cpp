#include "net/openai/unsupported_parameters.hpp"

#include <algorithm>

#include "net/openai/api_error.hpp"

namespace tessera::net {
namespace {

using Json = nlohmann::ordered_json;

// Whether a (non-null) value asks for nothing beyond what tessera does anyway.
using Neutral = bool (*)(const Json&);

bool never(const Json&) { return false; }
bool is_empty(const Json& v) { return (v.is_array() || v.is_object() || v.is_string()) && v.empty(); }
bool is_false(const Json& v) { return v.is_boolean() && !v.get<bool>(); }
bool is_zero(const Json& v) { return v.is_number() && v.get<double>() == 0.0; }
bool is_one(const Json& v) { return v.is_number() && v.get<double>() == 1.0; }
bool is_none(const Json& v) { return v.is_string() && v.get<std::string>() == "none"; }
bool is_text_format(const Json& v) {
  return v.is_object() && v.size() == 1 && v.contains("type") && v["type"] == "text";
}
bool is_text_only(const Json& v) {
  return v.is_array() && std::all_of(v.begin(), v.end(), [](const Json& m) { return m == "text"; });
}

struct Refused {
  const char* name;
  Neutral neutral;
  const char* neutral_text;  // what may be sent instead, besides leaving it out
  const char* asks_for;
};

// OpenAI's chat and completions references and vLLM's extra parameters, as of 2025. Parameters
// that change only how the answer is produced or billed (user, store, metadata, service_tier,
// prediction, parallel_tool_calls, priority, ...) are not here: ignoring them is harmless.
constexpr Refused kRefused[] = {
    {"tools", is_empty, "null or []", "tool calling"},
    {"tool_choice", is_none, "null or \"none\"", "tool calling"},
    {"functions", is_empty, "null or []", "function calling"},
    {"function_call", is_none, "null or \"none\"", "function calling"},
    {"response_format", is_text_format, "null or {\"type\": \"text\"}", "structured output"},
    {"logit_bias", is_empty, "null or {}", "logit biases"},
    {"guided_json", never, "null", "guided decoding"},
    {"guided_regex", never, "null", "guided decoding"},
    {"guided_choice", never, "null", "guided decoding"},
    {"guided_grammar", never, "null", "guided decoding"},
    {"guided_decoding_backend", never, "null", "guided decoding"},
    {"guided_whitespace_pattern", never, "null", "guided decoding"},
    {"structured_outputs", never, "null", "structured output"},
    {"min_tokens", is_zero, "null or 0", "a minimum output length"},
    {"allowed_token_ids", never, "null", "a restricted vocabulary"},
    {"bad_words", is_empty, "null or []", "banned words"},
    {"logits_processors", is_empty, "null or []", "logits processors"},
    {"return_tokens_as_token_ids", is_false, "null or false", "token ids in place of text"},
    {"prompt_logprobs", never, "null", "prompt log-probabilities"},
    {"truncate_prompt_tokens", never, "null", "prompt truncation"},
    {"use_beam_search", is_false, "null or false", "beam search"},
    {"length_penalty", is_one, "null or 1", "beam search"},
    {"echo", is_false, "null or false", "the prompt echoed in the output"},
    {"suffix", is_empty, "null or \"\"", "text after the completion (insertion)"},
    {"audio", never, "null", "audio output"},
    {"modalities", is_text_only, "null or [\"text\"]", "output other than text"},
    {"web_search_options", never, "null", "web search"},
    {"reasoning_effort", never, "null", "control over reasoning"},
    {"verbosity", never, "null", "control over verbosity"},
    {"documents", is_empty, "null or []", "documents passed to the chat template"},
    {"chat_template", never, "null", "a chat template of the request's own"},
    {"continue_final_message", is_false, "null or false", "continuing the last assistant message"},
};

}  // namespace

void refuse_unsupported_parameters(const Json& body) {
  for (const auto& refused : kRefused) {
    const auto it = body.find(refused.name);
    if (it == body.end() || it->is_null() || refused.neutral(*it)) continue;
    throw bad_field(refused.name, std::string("tessera does not support ") + refused.asks_for +
                                      " yet; leave it out or send " + refused.neutral_text);
  }
}

std::optional<std::string> tool_use_in_history(const Json& messages) {
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& message = messages[i];
    const std::string field = "messages[" + std::to_string(i) + "]";
    const auto calls = message.find("tool_calls");
    if (calls != message.end() && !calls->is_null() && !is_empty(*calls)) return field + ".tool_calls";
    const auto call = message.find("function_call");
    if (call != message.end() && !call->is_null()) return field + ".function_call";
    if (message.value("role", "") == "tool") return field + ".role";
  }
  return std::nullopt;
}

}  // namespace tessera::net
