#pragma once
// The JSON objects the API answers with: whole responses and streamed chunks for chat and
// completions, usage, and the two logprobs shapes (chat's `content` list and completions'
// parallel arrays), as the OpenAI API reference lays them out.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "net/openai/api_request.hpp"

namespace tessera::net {

using OrderedJson = nlohmann::ordered_json;

// What a response says about itself, the same in every chunk.
struct ResponseIdentity {
  Endpoint endpoint = Endpoint::chat;
  std::string id;       // chatcmpl-… or cmpl-…
  std::int64_t created = 0;  // Unix seconds
  std::string model;
};

// One generated token with its log-probability and the alternatives asked for; `text` is the
// token's own text.
struct TokenLogprob {
  std::string text;
  float logprob = 0.0f;
  std::vector<std::pair<std::string, float>> top;
};

OrderedJson usage_json(std::int64_t prompt_tokens, std::int64_t completion_tokens);

// `logprobs` of a choice; null when none were asked for. `text_offset` (completions) counts bytes
// from the start of the generated text, of which `offset` precede these tokens.
OrderedJson logprobs_json(Endpoint endpoint, const std::vector<TokenLogprob>& tokens,
                          bool requested, std::size_t offset = 0);

// A streamed chunk. For chat, `first` adds the assistant role to the delta.
OrderedJson chunk_json(const ResponseIdentity& who, const std::string& text, OrderedJson logprobs,
                       const std::string& finish_reason, bool first);
// The chunk with no choices and the usage, sent last when stream_options.include_usage is set.
OrderedJson usage_chunk_json(const ResponseIdentity& who, std::int64_t prompt_tokens,
                             std::int64_t completion_tokens);
// The whole, non-streamed response.
OrderedJson response_json(const ResponseIdentity& who, const std::string& text, OrderedJson logprobs,
                          const std::string& finish_reason, std::int64_t prompt_tokens,
                          std::int64_t completion_tokens);

// "data: …\n\n", one Server-Sent Event.
std::string sse_event(const OrderedJson& payload);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

}  // namespace tessera::net
