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
//
// Processing order (as HF transformers and vLLM): repetition penalty, frequency and presence
// penalties, then, unless greedy, temperature, top-k, top-p, min-p, and one draw by inverse CDF
// over the surviving tokens in increasing token id order. Greedy takes the penalised argmax
// (first index on ties) and consumes no random number; every other call consumes exactly one,
// so a sequence's n-th sampled token always uses draw n of its own stream.
// Throws Error(invalid_argument) for empty logits, a state token id outside the logits, or
// logits whose penalised maximum is not finite.
SampledToken sample_token(std::span<const float> logits, const SamplingParams& params,
                          SamplingState& state);

// The steps of sample_token, exposed for tests and for backends that sample elsewhere.

// Repetition (HF: over prompt and output tokens, each once: logit > 0 ? logit / p : logit · p)
// then frequency and presence penalties (OpenAI: logit -= count · frequency + presence, over
// output tokens), in place.
void apply_penalties(std::span<float> logits, const SamplingParams& params,
                     const SamplingState& state);

// The distribution sample_token draws from, as (token id, probability) in increasing id order:
// the tokens that survive the filters, renormalised. Weights are floats, so a token below ~1e-38
// times the most likely one's probability counts as filtered. Greedy gives the argmax with
// probability 1. Does not touch the state.
std::vector<std::pair<std::int32_t, double>> sampling_distribution(std::span<const float> logits,
                                                                   const SamplingParams& params,
                                                                   const SamplingState& state);

// Draw number `index` of the stream for `seed`, uniform in [0, 1). Counter-based, so a draw
// depends only on (seed, index) and never on other sequences, threads or batch order: SplitMix64
// from the state mix(seed) (mixing first, so that nearby seeds such as 1, 2, 3 do not give
// shifted copies of one stream), output index + 1, top 53 bits.
double uniform_draw(std::uint64_t seed, std::uint64_t index);

}  // namespace tessera::runtime
