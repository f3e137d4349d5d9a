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
  std::vector<std::int32_t> stop_token_ids;  // vLLM's: ids that end generation as EOS does
  bool include_stop_str_in_output = false;   // vLLM's: keep the stop string in the text
};

// Throws ApiError for a body that is not a JSON object or holds a bad field, or that asks for
// something tessera does not do (see unsupported_parameters.hpp). Takes the body by value so
// that the messages move out of it instead of being copied.
ApiRequest parse_api_request(nlohmann::ordered_json body, Endpoint endpoint);

// The pieces shared with /tokenize, each throwing ApiError (400) naming its field:
// `messages`, checked and moved out of the body, text parts joined into one string;
nlohmann::ordered_json read_chat_messages(nlohmann::ordered_json& body);
// `chat_template_kwargs`: an object (empty when absent) whose keys are none of the variables
// tessera sets itself;
nlohmann::ordered_json read_chat_template_kwargs(const nlohmann::ordered_json& body);
// `field` as an array of token ids (each a non-negative 32-bit integer; `allow_empty` or not).
std::vector<std::int32_t> read_token_ids(const nlohmann::ordered_json& value, const std::string& field,
                                         bool allow_empty);

// The same from the body's text, parsed with bounded nesting: text that is not JSON, nests too
// deep or holds a number beyond a double (1e400) is an ApiError (400) naming the request body.
ApiRequest read_api_request(std::string_view body, Endpoint endpoint);

}  // namespace tessera::net
