#pragma once
// The bodies of vLLM's POST /tokenize and POST /detokenize, read and checked: every field of the
// wrong type is an ApiError (400) naming it; unknown fields are ignored, as for completions.
//   /tokenize    {"model"?, "prompt", "add_special_tokens"?}                       (text)
//                {"model"?, "messages", "add_generation_prompt"?, "add_special_tokens"?,
//                 "chat_template_kwargs"?}                                          (chat)
//             -> {"count", "max_model_len", "tokens"}
//   /detokenize  {"model"?, "tokens"} -> {"prompt"}
// Ids are checked against the vocabulary by the service, which knows its size.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::net {

struct TokenizeRequest {
  std::string model;               // empty when the client left it out
  bool chat = false;               // messages rather than a prompt
  std::string prompt;              // text
  nlohmann::ordered_json messages; // chat
  bool add_generation_prompt = true;
  nlohmann::ordered_json template_kwargs = nlohmann::ordered_json::object();
  // As vLLM: true for a text prompt (a BOS as completions add it), false for chat (the rendered
  // template holds its special tokens already).
  bool add_special_tokens = true;
};

struct DetokenizeRequest {
  std::string model;
  std::vector<std::int32_t> tokens;
};

// Both take the body's text (parsed with bounded nesting, as completions are).
TokenizeRequest read_tokenize_request(std::string_view body);
DetokenizeRequest read_detokenize_request(std::string_view body);

// {"count", "max_model_len", "tokens"}, vLLM's TokenizeResponse.
nlohmann::ordered_json tokenize_response_json(const std::vector<std::int32_t>& tokens,
                                              std::int64_t max_model_len);

}  // namespace tessera::net
