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

// The penalties apply_penalties makes, as one entry per token it changes, in increasing id order:
// for a backend that applies them elsewhere (the CUDA backend uploads this list rather than the
// logits). Applying an entry (apply_penalty_entry) gives bit-for-bit what apply_penalties gives.
// Throws as apply_penalties does for a token id outside `vocab`.
struct PenaltyEntry {
  std::int32_t id = 0;
  std::int32_t repetition = 0;  // 1: divide or multiply by repetition_penalty
  float subtract = 0.0f;        // then subtract this (0 for prompt-only tokens)
};
void penalty_entries(const SamplingParams& params, const SamplingState& state, std::int64_t vocab,
                     std::vector<PenaltyEntry>& out);

// The amount frequency and presence penalties subtract from a token generated `count` times,
// computed in one place so that every backend rounds it the same way.
inline float penalty_offset(std::int32_t count, const SamplingParams& params) {
  return static_cast<float>(count) * params.frequency_penalty + params.presence_penalty;
}

inline float apply_penalty_entry(float logit, const PenaltyEntry& entry, float repetition) {
  if (entry.repetition != 0) logit = logit > 0.0f ? logit / repetition : logit * repetition;
  return logit - entry.subtract;  // x - 0 is x for every x, NaN and -0 included
}

// Draw number `index` of the stream for `seed`, uniform in [0, 1). Counter-based, so a draw
// depends only on (seed, index) and never on other sequences, threads or batch order: SplitMix64
// from the state mix(seed) (mixing first, so that nearby seeds such as 1, 2, 3 do not give
// shifted copies of one stream), output index + 1, top 53 bits.
double uniform_draw(std::uint64_t seed, std::uint64_t index);

// One row of a step's logits to sample (Backend::sample_rows): the row, the request's parameters
// and its state (updated as sample_token updates it). The pointers must outlive the call.
struct RowSample {
  std::int64_t row = 0;
  const SamplingParams* params = nullptr;
  SamplingState* state = nullptr;
};

// Throws Error(invalid_argument) unless every row names a row of `logit_rows` and has parameters
// and a state, and `out` has one place per row.
void check_row_samples(std::int64_t logit_rows, std::span<const RowSample> rows,
                       std::size_t out_size);

// sample_token for each row of host logits [rows, vocab] (row-major), in the order given.
void sample_host_rows(std::span<const float> logits, std::int64_t vocab,
                      std::span<const RowSample> rows, std::span<SampledToken> out);

}  // namespace tessera::runtime
