#pragma once
// What a client asks for and what it gets back: the request as it enters the engine and the
// events delivered to its sink. Plain data with no CAF in sight, so embedders include only this.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/failure.hpp"
#include "runtime/sampling/sampling_params.hpp"

namespace tessera::actors {

struct GenerateRequest {
  std::vector<std::int32_t> prompt;   // token ids
  runtime::SamplingParams sampling;   // temperature 0 is greedy
  std::int64_t max_tokens = 16;       // generated tokens at most (the EOS token included)
  std::vector<std::string> stop;      // stop strings (need a tokenizer)
  bool ignore_eos = false;            // keep generating past the model's EOS ids
  bool skip_special_tokens = true;    // leave special tokens out of the text
  // Ids that end generation as EOS does (ignore_eos does not apply to them); the token's text
  // is left out unless include_stop_str_in_output.
  std::vector<std::int32_t> stop_token_ids{};
  bool include_stop_str_in_output = false;  // keep the stop string (or stop token) in the text
};

// One or more generated tokens and the text that became final with them. Text that could still
// turn into a stop string, or half a UTF-8 character, is held back and arrives in a later event.
struct TokenEvent {
  std::uint64_t request_id = 0;
  std::vector<std::int32_t> token_ids;
  std::string text;
  std::vector<float> logprobs;  // per token, when the request asked for logprobs
  std::vector<std::vector<std::pair<std::int32_t, float>>> top_logprobs;  // per token
};

// The last event of every request, whatever happened to it.
struct FinalEvent {
  std::uint64_t request_id = 0;
  std::string finish_reason;  // "stop", "length", "cancelled" or "error"
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  // Why, when finish_reason is "error" (or "cancelled"): its category says whose fault it was
  // (the request's, or the server's for now: unavailable), its field which request field.
  Failure failure;
};

}  // namespace tessera::actors
