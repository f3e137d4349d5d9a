// Greedy choice and the filtered distribution (temperature, top-k, top-p, min-p) against direct
// evaluations of HF's definitions.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/sampling/token_sampler.hpp"
#include "tests/runtime/sampling/reference.hpp"

namespace tessera::runtime {
namespace {

using Distribution = std::vector<std::pair<std::int32_t, double>>;

// Same tokens, probabilities within a relative tolerance: the sampler rounds the scaled logit x
// to float, which moves exp(x) by up to |x| · 6e-8 relative.
void expect_distribution(const Distribution& actual, const Distribution& expected,
                         double tolerance = 1e-5) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].first, expected[i].first) << "entry " << i;
    EXPECT_NEAR(actual[i].second, expected[i].second, tolerance * expected[i].second)
        << "token " << expected[i].first;
  }
}

Distribution distribution(const std::vector<float>& logits, const SamplingParams& params) {
  return sampling_distribution(logits, params, SamplingState::start({}, params, 0));
}

std::vector<double> scaled(const std::vector<float>& logits, double temperature) {
  std::vector<double> x;
  for (float v : logits) x.push_back(v / temperature);
  return x;
}

TEST(GreedyTest, TakesTheFirstLargestAndConsumesNoDraw) {
  SamplingParams params;
  params.temperature = 0.0f;
  SamplingState state = SamplingState::start({}, params, 9);
  EXPECT_EQ(sample_token(std::vector<float>{1.0f, 5.0f, 5.0f, 2.0f}, params, state).id, 1);
  EXPECT_EQ(state.draws, 0u);
  EXPECT_EQ(state.output_counts.at(1), 1);
}

TEST(GreedyTest, PenaltiesStillChangeTheWinner) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.5f, -1.0f, 2.9f};
  SamplingParams params;
  params.temperature = 0.0f;
  params.repetition_penalty = 1.1f;
  params.frequency_penalty = 0.5f;
  const std::vector<std::int32_t> prompt = {4};
  SamplingState state = SamplingState::start(prompt, params, 0);
  state.record(1);
  // Penalised: token 1: 3 / 1.1 - 0.5 = 2.227; token 4: 2.9 / 1.1 = 2.636; token 2 stays 2.5.
  std::vector<double> expected(logits.begin(), logits.end());
  expected[1] = 3.0 / 1.1 - 0.5;
  expected[4] = 2.9 / 1.1;
  const std::int32_t winner = reference::ranked(expected)[0];
  ASSERT_EQ(winner, 4);
  EXPECT_EQ(sample_token(logits, params, state).id, winner);
  // Now token 4 has been generated too: 2.9 / 1.1 - 0.5 = 2.136 < 2.5.
  expected[4] -= 0.5;
  EXPECT_EQ(sample_token(logits, params, state).id, reference::ranked(expected)[0]);
  EXPECT_EQ(reference::ranked(expected)[0], 2);
}

TEST(FilterTest, TemperatureAloneGivesTheScaledSoftmax) {
  const std::vector<float> logits = {1.0f, 0.2f, -0.5f, 1.6f, -10.0f};
  for (double t : {0.3, 1.0, 2.5}) {
    SamplingParams params;
    params.temperature = static_cast<float>(t);
    const auto p = reference::softmax(scaled(logits, t));
    expect_distribution(distribution(logits, params), reference::restrict(p, {0, 1, 2, 3, 4}));
  }
}

TEST(FilterTest, TopKOneIsGreedy) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  SamplingParams params;
  params.temperature = 1.3f;
  params.top_k = 1;
  SamplingState state = SamplingState::start({}, params, 11);
  for (int round = 0; round < 50; ++round) {
    std::vector<float> logits(1000);
    for (float& v : logits) v = normal(rng);
    const std::vector<double> x(logits.begin(), logits.end());
    EXPECT_EQ(sample_token(logits, params, state).id, reference::ranked(x)[0]);
  }
}

TEST(FilterTest, TopKKeepsTheKLargestAndTheirTies) {
  const std::vector<float> logits = {3.0f, 1.0f, 2.0f, 2.0f, 0.0f, 2.5f};
  SamplingParams params;
  params.temperature = 0.8f;
  params.top_k = 2;
  const auto p = reference::softmax(scaled(logits, 0.8));
  expect_distribution(distribution(logits, params), reference::restrict(p, {0, 5}));
  params.top_k = 3;  // the 3rd value, 2.0, is shared by tokens 2 and 3: HF keeps both
  expect_distribution(distribution(logits, params), reference::restrict(p, {0, 5, 2, 3}));
  params.top_k = 100;  // more than the vocabulary: no filtering
  expect_distribution(distribution(logits, params), reference::restrict(p, {0, 1, 2, 3, 4, 5}));
}

TEST(FilterTest, TopPKeepsTheSmallestPrefixReachingP) {
  // Probabilities 0.5, 0.3, 0.15, 0.05 in scrambled id order; cumulative from the top:
  // 0.5, 0.8, 0.95, 1.0. top_p values sit well away from those boundaries.
  const std::vector<double> p = {0.15, 0.5, 0.05, 0.3};
  const std::vector<float> logits = reference::logits_of(p, 4.0);
  SamplingParams params;
  params.top_p = 0.3f;
  expect_distribution(distribution(logits, params), reference::restrict(p, {1}));
  params.top_p = 0.6f;
  expect_distribution(distribution(logits, params), reference::restrict(p, {1, 3}));
  params.top_p = 0.79f;
  expect_distribution(distribution(logits, params), reference::restrict(p, {1, 3}));
  params.top_p = 0.81f;
  expect_distribution(distribution(logits, params), reference::restrict(p, {1, 3, 0}));
  params.top_p = 0.96f;
  expect_distribution(distribution(logits, params), reference::restrict(p, {1, 3, 0, 2}));
}

TEST(FilterTest, TopPRenormalisesOverTheTopKSurvivors) {
  const std::vector<double> p = {0.4, 0.3, 0.2, 0.1};
  const std::vector<float> logits = reference::logits_of(p);
  SamplingParams params;
  params.top_p = 0.72f;
  // Over all four: 0.4, 0.7 before the third token: 0.7 < 0.72 keeps it.
  expect_distribution(distribution(logits, params), reference::restrict(p, {0, 1, 2}));
  // Over the top 3 renormalised (0.444, 0.333, 0.222): 0.777 >= 0.72 drops the third.
  params.top_k = 3;
  expect_distribution(distribution(logits, params), reference::restrict(p, {0, 1}));
}

TEST(FilterTest, MinPIsRelativeToTheMostLikelyTokenAfterTemperature) {
  const std::vector<double> p = {0.3, 0.05, 0.5, 0.15};
  const std::vector<float> logits = reference::logits_of(p, -1.0);
  SamplingParams params;
  params.min_p = 0.2f;  // threshold 0.1: drops 0.05 only
  expect_distribution(distribution(logits, params), reference::restrict(p, {0, 2, 3}));
  params.temperature = 2.0f;
  params.min_p = 0.6f;
  const auto q = reference::softmax(scaled(logits, 2.0));
  const double q_max = *std::max_element(q.begin(), q.end());
  std::vector<std::int32_t> kept;
  for (std::int32_t id = 0; id < 4; ++id) {
    if (q[static_cast<std::size_t>(id)] >= 0.6 * q_max) kept.push_back(id);
  }
  // p / p_max at temperature 2 is sqrt of the ratios at 1: 0.77, 0.32, 1, 0.55; at 1 the
  // threshold 0.6 would have kept only token 2.
  ASSERT_EQ(kept, (std::vector<std::int32_t>{0, 2}));
  expect_distribution(distribution(logits, params), reference::restrict(q, kept));
}

// A vocabulary large enough that top-p sorts several growing prefixes before the nucleus fits,
// against a full sort written here.
TEST(FilterTest, LargeVocabularyMatchesAFullSort) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 2.5f);
  std::vector<float> logits(50000);
  for (float& v : logits) v = normal(rng);
  struct Case {
    int top_k;
    float top_p;
    float min_p;
    double temperature = 0.9;
  };
  // Small nuclei, large ones (a high temperature flattens the distribution), top-p over a long
  // top-k list, and each filter alone.
  for (const Case c : {Case{0, 0.9f, 0.0f}, Case{500, 0.8f, 0.0f}, Case{0, 0.95f, 0.01f},
                       Case{2000, 1.0f, 0.0f}, Case{0, 1.0f, 0.05f}, Case{0, 0.7f, 0.0f, 8.0},
                       Case{20000, 0.5f, 0.0f, 5.0}, Case{0, 0.999f, 0.0f, 0.3}}) {
    SamplingParams params;
    params.temperature = static_cast<float>(c.temperature);
    params.top_k = c.top_k;
    params.top_p = c.top_p;
    params.min_p = c.min_p;
    const std::vector<double> x = scaled(logits, c.temperature);
    const std::vector<std::int32_t> order = reference::ranked(x);
    std::vector<std::int32_t> kept(order.begin(), order.begin() + (c.top_k > 0 ? c.top_k : 50000));
    std::vector<double> p = reference::softmax(x);
    std::vector<double> kept_p(p.size(), 0.0);
    double sum = 0.0;
    for (std::int32_t id : kept) sum += p[static_cast<std::size_t>(id)];
    for (std::int32_t id : kept)
      kept_p[static_cast<std::size_t>(id)] = p[static_cast<std::size_t>(id)] / sum;
    if (c.top_p < 1.0f) {
      double before = 0.0;
      std::size_t n = 0;
      while (n < kept.size() && before < c.top_p)
        before += kept_p[static_cast<std::size_t>(kept[n++])];
      kept.resize(n);
    }
    const double p_max = p[static_cast<std::size_t>(order[0])];
    std::erase_if(
        kept, [&](std::int32_t id) { return p[static_cast<std::size_t>(id)] < c.min_p * p_max; });
    SCOPED_TRACE(testing::Message()
                 << "top_k " << c.top_k << " top_p " << c.top_p << " min_p " << c.min_p
                 << " temperature " << c.temperature << ": " << kept.size() << " kept");
    ASSERT_GT(kept.size(), 1u);
    expect_distribution(distribution(logits, params), reference::restrict(p, kept));
  }
}

TEST(FilterTest, RejectsLogitsWithoutAFiniteMaximum) {
  SamplingParams params;
  SamplingState state = SamplingState::start({}, params, 0);
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_THROW(sample_token(std::vector<float>{}, params, state), Error);
  EXPECT_THROW(sample_token(std::vector<float>{-inf, -inf}, params, state), Error);
  EXPECT_THROW(sample_token(std::vector<float>{0.0f, inf}, params, state), Error);
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  EXPECT_THROW(sample_token(std::vector<float>{-inf, -inf}, greedy, state), Error);
  greedy.presence_penalty = 0.5f;
  EXPECT_THROW(sample_token(std::vector<float>{-inf, -inf}, greedy, state), Error);
  // A -inf logit is a masked token: fine, and never drawn.
  const std::vector<float> masked = {-inf, 0.0f, -inf};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sample_token(masked, params, state).id, 1);
}

}  // namespace
}  // namespace tessera::runtime
