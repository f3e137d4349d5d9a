// Repetition (HF) and frequency/presence (OpenAI) penalties, each against its formula.
#include <gtest/gtest.h>

#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/sampling/token_sampler.hpp"

namespace tessera::runtime {
namespace {

std::vector<float> penalized(std::vector<float> logits, const SamplingParams& params,
                             const SamplingState& state) {
  apply_penalties(logits, params, state);
  return logits;
}

TEST(PenaltiesTest, RepetitionDividesPositiveAndMultipliesNegativeOverPromptAndOutput) {
  const std::vector<float> logits = {2.0f, -1.5f, 0.8f, -0.3f, 1.2f, 0.0f, -2.0f};
  SamplingParams params;
  const std::vector<std::int32_t> prompt = {0, 1, 1, 5};
  SamplingState state = SamplingState::start(prompt, params, 0);
  state.record(3);
  state.record(0);  // in the prompt as well: still penalised only once
  state.record(3);
  // Seen: prompt {0, 1, 5} and output {0, 3}. Untouched: 2, 4, 6.
  const bool seen[] = {true, true, false, true, false, true, false};
  for (const double penalty : {1.5, 0.5}) {
    params.repetition_penalty = static_cast<float>(penalty);
    const std::vector<float> out = penalized(logits, params, state);
    for (std::size_t i = 0; i < logits.size(); ++i) {
      const double x = logits[i];
      const double expected = !seen[i] ? x : x > 0 ? x / penalty : x * penalty;
      EXPECT_NEAR(out[i], expected, 1e-6) << "token " << i << ", penalty " << penalty;
    }
  }
}

TEST(PenaltiesTest, FrequencyAndPresenceCountOnlyOutputTokens) {
  const std::vector<float> logits = {0.5f, 1.0f, -0.25f, 3.0f, 0.0f};
  SamplingParams params;
  params.frequency_penalty = 0.4f;
  params.presence_penalty = -0.7f;
  const std::vector<std::int32_t> prompt = {0, 1};
  SamplingState state = SamplingState::start(prompt, params, 0);
  for (std::int32_t t : {3, 1, 3, 3, 2}) state.record(t);
  const int counts[] = {0, 1, 1, 3, 0};
  const std::vector<float> out = penalized(logits, params, state);
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const double expected = logits[i] - counts[i] * 0.4 - (counts[i] > 0 ? 1.0 : 0.0) * -0.7;
    EXPECT_NEAR(out[i], expected, 1e-6) << "token " << i;
  }
}

TEST(PenaltiesTest, RepetitionComesBeforeFrequencyAndPresence) {
  SamplingParams params;
  params.repetition_penalty = 2.0f;
  params.frequency_penalty = 0.5f;
  params.presence_penalty = 0.25f;
  SamplingState state = SamplingState::start({}, params, 0);
  state.record(0);
  state.record(0);
  // (1 / 2) - 2 · 0.5 - 0.25; the other order would give (1 - 1.25) · 2 = -0.5.
  EXPECT_NEAR(penalized({1.0f, 1.0f}, params, state)[0], 0.5 - 1.0 - 0.25, 1e-6);
}

TEST(PenaltiesTest, RejectsTokenIdsOutsideTheLogits) {
  SamplingParams params;
  params.repetition_penalty = 1.2f;
  const std::vector<std::int32_t> prompt = {4};
  const SamplingState state = SamplingState::start(prompt, params, 0);
  std::vector<float> logits(4, 0.0f);
  EXPECT_THROW(apply_penalties(logits, params, state), Error);
}

}  // namespace
}  // namespace tessera::runtime
