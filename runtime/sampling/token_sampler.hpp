#pragma once
// Picks each sequence's next token from its logits on the host (the CPU backend's device).
// A sequence's SamplingState carries what the choice depends on besides the logits — its token
// history for penalties and its random stream — so the result never depends on which other
// sequences share the batch.
#include <cstdint>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/sampling/sampling_params.hpp"

namespace tessera::runtime {

struct SamplingState {
  // Counts of each token among the generated ones (presence/frequency penalties) and the set of
  // prompt tokens (repetition penalty also covers the prompt, as HF applies it).
  std::unordered_map<std::int32_t, std::int32_t> output_counts;
  std::vector<std::int32_t> prompt_tokens;  // sorted, unique
  std::uint64_t seed = 0;    // from SamplingParams::seed, or drawn once when the request starts
  std::uint64_t draws = 0;   // random numbers consumed so far

  static SamplingState start(std::span<const std::int32_t> prompt, const SamplingParams& params,
                             std::uint64_t fallback_seed);
  void record(std::int32_t token) { ++output_counts[token]; }
};

struct SampledToken {
  std::int32_t id = 0;
  float logprob = 0.0f;  // log-softmax of the model's logits (before any penalty or filter)
  std::vector<std::pair<std::int32_t, float>> top_logprobs;  // most likely first
};

// Applies penalties, temperature and the filters to a copy of `logits`, draws a token with the
// state's random stream (or takes the argmax when greedy), records it in the state and reports
// the log-probabilities the request asked for.
SampledToken sample_token(std::span<const float> logits, const SamplingParams& params,
                          SamplingState& state);

}  // namespace tessera::runtime
