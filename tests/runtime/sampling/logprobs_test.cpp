// Reported log-probabilities: the model's raw log-softmax, whatever penalties, temperature and
// filters did to the choice.
#include <gtest/gtest.h>

#include <vector>

#include "runtime/sampling/token_sampler.hpp"
#include "tests/runtime/sampling/reference.hpp"

namespace tessera::runtime {
namespace {

TEST(LogprobsTest, ChosenAndTopAlternativesFromTheRawLogSoftmax) {
  const std::vector<float> logits = {0.3f, 2.0f, -1.0f, 2.0f, 0.7f, 1.1f, -4.0f};
  SamplingParams params;
  params.temperature = 0.6f;
  params.top_k = 3;
  params.repetition_penalty = 1.3f;
  params.presence_penalty = 0.5f;
  params.logprobs = true;
  params.top_logprobs = 4;
  params.seed = 5;
  const std::vector<std::int32_t> prompt = {1, 5};
  SamplingState state = SamplingState::start(prompt, params, 0);
  const std::vector<double> expected = reference::log_softmax(logits);
  // Most likely first, the tie between tokens 1 and 3 broken by the lower id.
  const std::vector<std::int32_t> top = {1, 3, 5, 4};
  const std::vector<std::int32_t> ranked = reference::ranked(expected);
  ASSERT_EQ(std::vector<std::int32_t>(ranked.begin(), ranked.begin() + 4), top);
  for (int i = 0; i < 30; ++i) {
    const SampledToken token = sample_token(logits, params, state);
    EXPECT_NEAR(token.logprob, expected[static_cast<std::size_t>(token.id)], 1e-6);
    ASSERT_EQ(token.top_logprobs.size(), top.size());
    for (std::size_t j = 0; j < top.size(); ++j) {
      EXPECT_EQ(token.top_logprobs[j].first, top[j]);
      EXPECT_NEAR(token.top_logprobs[j].second, expected[static_cast<std::size_t>(top[j])], 1e-6);
    }
  }
}

TEST(LogprobsTest, GreedyReportsTheRawLogprobOfThePenalisedWinner) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.5f};
  SamplingParams params;
  params.temperature = 0.0f;
  params.frequency_penalty = 1.0f;
  params.logprobs = true;
  SamplingState state = SamplingState::start({}, params, 0);
  state.record(1);
  const SampledToken token = sample_token(logits, params, state);
  EXPECT_EQ(token.id, 2);  // 3 - 1 < 2.5
  EXPECT_NEAR(token.logprob, reference::log_softmax(logits)[2], 1e-6);
  EXPECT_TRUE(token.top_logprobs.empty());
}

TEST(LogprobsTest, TopLogprobsNeverExceedTheVocabulary) {
  const std::vector<float> logits = {0.5f, 0.5f};
  SamplingParams params;
  params.logprobs = true;
  params.top_logprobs = 20;
  SamplingState state = SamplingState::start({}, params, 3);
  const SampledToken token = sample_token(logits, params, state);
  ASSERT_EQ(token.top_logprobs.size(), 2u);
  EXPECT_EQ(token.top_logprobs[0].first, 0);
  EXPECT_EQ(token.top_logprobs[1].first, 1);
  EXPECT_NEAR(token.top_logprobs[0].second, std::log(0.5), 1e-6);
}

TEST(LogprobsTest, NothingReportedUnlessAsked) {
  SamplingParams params;
  SamplingState state = SamplingState::start({}, params, 3);
  const SampledToken token = sample_token(std::vector<float>{0.0f, 1.0f}, params, state);
  EXPECT_EQ(token.logprob, 0.0f);
  EXPECT_TRUE(token.top_logprobs.empty());
}

}  // namespace
}  // namespace tessera::runtime
