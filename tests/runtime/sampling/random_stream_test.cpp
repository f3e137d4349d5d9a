// Random draws: the right distribution, reproducible from the seed alone, independent of other
// sequences. Every test here is deterministic given its seeds, so none can flake.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <thread>
#include <vector>

#include "runtime/sampling/token_sampler.hpp"
#include "tests/runtime/sampling/reference.hpp"

namespace tessera::runtime {
namespace {

std::vector<std::int32_t> draw_many(const std::vector<float>& logits, const SamplingParams& params,
                                    SamplingState& state, int count) {
  std::vector<std::int32_t> tokens;
  for (int i = 0; i < count; ++i) tokens.push_back(sample_token(logits, params, state).id);
  return tokens;
}

// Pearson's chi-square of the counts against probabilities `p`, with every count also within
// 4.5 standard errors of its expectation.
double chi_square(const std::vector<std::int32_t>& tokens, const std::vector<double>& p) {
  std::vector<double> counts(p.size(), 0.0);
  for (std::int32_t t : tokens) counts.at(static_cast<std::size_t>(t)) += 1.0;
  const double n = static_cast<double>(tokens.size());
  double chi2 = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double expected = n * p[i];
    if (expected == 0.0) {
      EXPECT_EQ(counts[i], 0.0) << "token " << i << " has probability 0";
      continue;
    }
    EXPECT_NEAR(counts[i], expected, 4.5 * std::sqrt(n * p[i] * (1.0 - p[i]))) << "token " << i;
    chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  return chi2;
}

TEST(RandomStreamTest, UniformDrawsLieInTheUnitIntervalWithMeanOneHalf) {
  double sum = 0.0;
  constexpr int kCount = 100000;
  for (std::uint64_t i = 0; i < kCount; ++i) {
    const double u = uniform_draw(12345, i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  // The mean of n uniforms has standard error sqrt(1 / 12n) ≈ 0.00091.
  EXPECT_NEAR(sum / kCount, 0.5, 5 * std::sqrt(1.0 / (12.0 * kCount)));
}

TEST(RandomStreamTest, DrawsFollowTheTemperatureSoftmax) {
  const std::vector<float> logits = {1.0f, 0.2f, -0.5f, 1.6f};
  SamplingParams params;
  params.temperature = 0.7f;
  params.seed = 1234;
  SamplingState state = SamplingState::start({}, params, 0);
  const auto tokens = draw_many(logits, params, state, 20000);
  EXPECT_EQ(state.draws, 20000u);
  std::vector<double> x;
  for (float v : logits) x.push_back(v / 0.7);
  // 3 degrees of freedom: P(chi2 > 16.27) = 0.001.
  EXPECT_LT(chi_square(tokens, reference::softmax(x)), 16.27);
}

TEST(RandomStreamTest, DrawsFollowTheFilteredDistribution) {
  // top-k 4 keeps tokens 1, 3, 5, 0; min-p 0.3 then drops token 0 (0.1 / 0.35 = 0.29 < 0.3).
  const std::vector<double> p = {0.1, 0.35, 0.02, 0.3, 0.03, 0.2};
  const std::vector<float> logits = reference::logits_of(p);
  SamplingParams params;
  params.top_k = 4;
  params.min_p = 0.3f;
  params.seed = 99;
  SamplingState state = SamplingState::start({}, params, 0);
  const auto tokens = draw_many(logits, params, state, 20000);
  const std::vector<double> kept = {0.0, 0.35 / 0.85, 0.0, 0.3 / 0.85, 0.0, 0.2 / 0.85};
  EXPECT_LT(chi_square(tokens, kept), 13.82);  // 2 degrees of freedom, p = 0.001
}

SamplingParams unseeded(SamplingParams params) {
  params.seed.reset();
  return params;
}

TEST(RandomStreamTest, SameSeedSameTokensDifferentSeedsDifferentTokens) {
  const std::vector<float> logits = {0.1f, 0.0f, 0.3f, -0.2f, 0.2f, 0.0f, 0.1f, -0.1f};
  SamplingParams params;
  params.seed = 42;
  SamplingState a = SamplingState::start({}, params, 1);
  SamplingState b = SamplingState::start({}, params, 2);  // the explicit seed wins
  EXPECT_EQ(draw_many(logits, params, a, 200), draw_many(logits, params, b, 200));

  params.seed.reset();
  SamplingState c = SamplingState::start({}, params, 42);  // no seed: the fallback is used
  SamplingState d = SamplingState::start({}, params, 43);
  SamplingState e = SamplingState::start({}, params, 42);
  const auto from_c = draw_many(logits, params, c, 50);
  EXPECT_NE(from_c, draw_many(logits, params, d, 50));
  EXPECT_EQ(from_c, draw_many(logits, params, e, 50));
  // (With 8 near-equal tokens, 50 identical draws by chance have probability ~ 8^-50.)
  // An explicit seed and the same number as fallback seed are the same stream.
  params.seed = 43;
  SamplingState f = SamplingState::start({}, params, 0);
  SamplingState g = SamplingState::start({}, unseeded(params), 43);
  EXPECT_EQ(draw_many(logits, params, f, 50), draw_many(logits, unseeded(params), g, 50));
}

// The logits a toy "model" gives at step `step` after `previous`, so that the history matters.
std::vector<float> toy_logits(std::size_t vocab, int step, std::int32_t previous) {
  std::vector<float> logits(vocab);
  for (std::size_t i = 0; i < vocab; ++i) {
    logits[i] = static_cast<float>(std::sin(0.7 * static_cast<double>(i) + step) +
                                   0.3 * std::cos(static_cast<double>(previous) * i));
  }
  return logits;
}

TEST(RandomStreamTest, InterleavingWithOtherSequencesChangesNothing) {
  SamplingParams params;
  params.seed = 2024;
  params.temperature = 0.9f;
  params.top_p = 0.9f;
  params.presence_penalty = 0.5f;
  params.repetition_penalty = 1.2f;
  const std::vector<std::int32_t> prompt = {3, 1, 4, 1, 5};
  constexpr int kSteps = 40;

  // Alone, and on another thread (with its own scratch buffers).
  std::vector<std::int32_t> expected;
  std::thread([&] {
    SamplingState alone = SamplingState::start(prompt, params, 0);
    std::int32_t last = prompt.back();
    for (int step = 0; step < kSteps; ++step) {
      last = sample_token(toy_logits(16, step, last), params, alone).id;
      expected.push_back(last);
    }
  }).join();
  // A sequence worth comparing: it does not just repeat one token.
  EXPECT_GE(std::set<std::int32_t>(expected.begin(), expected.end()).size(), 4u);

  // Same request beside two others of different vocabulary sizes and settings, one of them with
  // the same seed, sampled in a shifting order.
  SamplingParams other = params;
  other.top_k = 3;
  other.top_p = 1.0f;
  other.presence_penalty = 0.0f;
  SamplingParams plain;
  plain.seed.reset();
  SamplingState mine = SamplingState::start(prompt, params, 0);
  SamplingState same_seed = SamplingState::start({}, other, 0);
  SamplingState stranger = SamplingState::start({}, plain, 77);
  std::vector<std::int32_t> actual;
  std::int32_t previous = prompt.back();
  for (int step = 0; step < kSteps; ++step) {
    if (step % 3 == 0) sample_token(toy_logits(1000, step, 0), other, same_seed);
    const auto token = sample_token(toy_logits(16, step, previous), params, mine).id;
    if (step % 2 == 0) sample_token(toy_logits(50, step, 1), plain, stranger);
    sample_token(toy_logits(1000, step + 1, 0), other, same_seed);
    previous = token;
    actual.push_back(token);
  }
  EXPECT_EQ(actual, expected);
}

}  // namespace
}  // namespace tessera::runtime
