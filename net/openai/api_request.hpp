#pragma once
// The body of POST /v1/chat/completions and /v1/completions, read and checked as the OpenAI API
// reference describes them. Unknown fields are ignored, as OpenAI does; a field of the wrong
// type or out of range is an ApiError (400) that names it. JSON null counts as absent.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/sampling/sampling_params.hpp"

namespace tessera::net {

enum class Endpoint { chat, completion };

struct ApiRequest {
  Endpoint endpoint = Endpoint::chat;
  std::string model;                  // empty when the client left it out
  nlohmann::ordered_json messages;    // chat: the conversation, as given
  std::string prompt_text;            // completion: a text prompt ...
  std::vector<std::int32_t> prompt_ids;  // ... or token ids (exactly one of the two is used)
  bool prompt_is_ids = false;
  std::optional<std::int64_t> max_tokens;  // absent: up to the context's end
  std::string max_tokens_field = "max_tokens";  // or max_completion_tokens: the one the client sent
  bool add_generation_prompt = true;  // chat: vLLM's extension, passed to the template
  nlohmann::ordered_json template_kwargs = nlohmann::ordered_json::object();  // chat_template_kwargs
  runtime::SamplingParams sampling;   // OpenAI's defaults: temperature 1, top_p 1
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;
  bool ignore_eos = false;
  bool skip_special_tokens = true;
};

// Throws ApiError for a body that is not a JSON object or holds a bad field, or that asks for
// something tessera does not do (see unsupported_parameters.hpp). Takes the body by value so
// that the messages move out of it instead of being copied.
ApiRequest parse_api_request(nlohmann::ordered_json body, Endpoint endpoint);

// The same from the body's text, parsed with bounded nesting: text that is not JSON, nests too
// deep or holds a number beyond a double (1e400) is an ApiError (400) naming the request body.
ApiRequest read_api_request(std::string_view body, Endpoint endpoint);

}  // namespace tessera::net
