// Sampling on the GPU (CudaBackend::sample_rows) against the host sampler (sample_token) on many
// random rows: vocabularies up to 151936, temperatures, top-k/p, min-p, penalties with histories,
// seeds, ties and -inf logits. Greedy rows must choose the same token always; a sampled row may
// differ only where the host's draw u lies within 1e-6 of a boundary of its cumulative
// distribution (sums are made in another order on the GPU), which the test finds with
// sampling_distribution and counts; log-probabilities agree within 1e-4 and the top-n ids exactly.
// Also: results do not depend on the batch, errors match the host's, and large vocabularies fall
// back to the host. Skipped without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cuda/sampling.hpp"
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/core/error.hpp"
#include "runtime/sampling/token_sampler.hpp"
#include "tests/backend_cuda/cuda_test_support.hpp"
#include "tests/support/expect_error.hpp"

namespace tessera::runtime {
namespace {

constexpr double kBoundary = 1e-6;     // |u - CDF boundary| below this may choose a neighbour
constexpr double kLogprobTolerance = 1e-4;

struct Row {
  std::vector<float> logits;
  SamplingParams params;
  SamplingState state;
};

std::vector<float> random_row(std::mt19937& rng, std::int64_t vocab) {
  const float scales[] = {1.0f, 3.0f, 8.0f};
  std::normal_distribution<float> normal(0.0f, scales[rng() % 3]);
  std::vector<float> x(static_cast<std::size_t>(vocab));
  for (float& v : x) v = normal(rng);
  switch (rng() % 6) {
    case 0:  // bf16-rounded: many exact ties
      for (float& v : x) v = testing::round_bf16(v);
      break;
    case 1: {  // a few -inf (masked tokens), never all of them
      const float kept = x[0];
      for (int i = 0; i < 1 + static_cast<int>(vocab / 50); ++i) {
        x[rng() % x.size()] = -std::numeric_limits<float>::infinity();
      }
      x[0] = kept;
      break;
    }
    case 2:  // one token far ahead of the rest
      x[rng() % x.size()] += 15.0f;
      break;
    default:
      break;
  }
  return x;
}

SamplingParams random_params(std::mt19937& rng, std::int64_t vocab) {
  SamplingParams p;
  const float temperatures[] = {0.0f, 0.2f, 0.7f, 1.0f, 1.3f};
  p.temperature = temperatures[rng() % 5];
  const std::int64_t ks[] = {1, 5, 50, 1000, vocab, vocab + 3};
  if (rng() % 5 < 3) p.top_k = static_cast<std::int32_t>(ks[rng() % 6]);
  const float ps[] = {0.5f, 0.9f, 0.95f, 0.99f};
  if (rng() % 2 == 0) p.top_p = ps[rng() % 4];
  const float min_ps[] = {0.01f, 0.1f, 0.3f};
  if (rng() % 5 < 2) p.min_p = min_ps[rng() % 3];
  if (rng() % 5 < 3) {
    const float repetitions[] = {1.0f, 1.2f, 0.8f};
    const float frequencies[] = {0.0f, 0.5f, -0.4f};
    const float presences[] = {0.0f, -0.3f, 0.7f};
    p.repetition_penalty = repetitions[rng() % 3];
    p.frequency_penalty = frequencies[rng() % 3];
    p.presence_penalty = presences[rng() % 3];
  }
  if (rng() % 2 == 0) {
    p.logprobs = true;
    p.top_logprobs = static_cast<std::int32_t>(rng() % 21);
  }
  p.validate();
  return p;
}

SamplingState random_state(std::mt19937& rng, std::int64_t vocab, const SamplingParams& params) {
  std::uniform_int_distribution<std::int64_t> token(0, vocab - 1);
  std::vector<std::int32_t> prompt(static_cast<std::size_t>(rng() % 50));
  for (auto& t : prompt) t = static_cast<std::int32_t>(token(rng));
  SamplingState state = SamplingState::start(prompt, params, (std::uint64_t{rng()} << 32) | rng());
  const int outputs = static_cast<int>(rng() % 30);
  for (int i = 0; i < outputs; ++i) state.record(static_cast<std::int32_t>(token(rng)));
  state.draws = rng() % 1000;
  return state;
}

// `count` rows of random logits, parameters and histories.
std::vector<Row> random_rows(std::mt19937& rng, std::size_t count, std::int64_t vocab) {
  std::vector<Row> rows(count);
  for (Row& r : rows) {
    r.logits = random_row(rng, vocab);
    r.params = random_params(rng, vocab);
    r.state = random_state(rng, vocab, r.params);
  }
  return rows;
}

Tensor upload_rows(CudaBackend& backend, const std::vector<Row>& rows, std::int64_t vocab) {
  std::vector<float> values;
  for (const Row& r : rows) values.insert(values.end(), r.logits.begin(), r.logits.end());
  return backend.upload(values, {static_cast<std::int64_t>(rows.size()), vocab});
}

// Samples every row on the GPU in one call, each from a copy of its state.
std::vector<SampledToken> gpu_sample(CudaBackend& backend, const Tensor& logits,
                                     const std::vector<Row>& rows,
                                     std::vector<SamplingState>& states) {
  states.clear();
  for (const Row& r : rows) states.push_back(r.state);
  std::vector<RowSample> samples;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    samples.push_back({static_cast<std::int64_t>(i), &rows[i].params, &states[i]});
  }
  std::vector<SampledToken> out(rows.size());
  backend.sample_rows(logits, samples, out);
  return out;
}

struct Tally {
  int greedy = 0;
  int sampled = 0;
  int boundary = 0;     // differed, explained by u near a CDF boundary
  int unexplained = 0;  // differed otherwise (a failure)
};

// Distance from u to the nearest boundary of the host's cumulative distribution for the row.
double distance_to_boundary(const Row& r, double u) {
  const auto distribution = sampling_distribution(r.logits, r.params, r.state);
  double cumulative = 0.0;
  double nearest = std::abs(u);
  for (const auto& [id, p] : distribution) {
    cumulative += p;
    nearest = std::min(nearest, std::abs(u - cumulative));
  }
  return nearest;
}

// Within kLogprobTolerance; an infinite or NaN reference (a -inf logit, a NaN in the row) must be
// matched exactly.
void expect_logprob(float got, float expected, const std::string& where) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(got)) << where << ": " << got << ", host NaN";
  } else if (std::isinf(expected)) {
    EXPECT_EQ(got, expected) << where;
  } else {
    EXPECT_NEAR(got, expected, kLogprobTolerance) << where;
  }
}

void compare(const std::string& label, const std::vector<Row>& rows,
             const std::vector<SampledToken>& got, const std::vector<SamplingState>& got_states,
             Tally& tally) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    SamplingState expected_state = r.state;
    const SampledToken expected = sample_token(r.logits, r.params, expected_state);
    const std::string where = label + " row " + std::to_string(i);
    EXPECT_EQ(got_states[i].draws, expected_state.draws) << where;
    if (r.params.greedy()) {
      ++tally.greedy;
      EXPECT_EQ(got[i].id, expected.id) << where << " (greedy)";
    } else {
      ++tally.sampled;
      if (got[i].id != expected.id) {
        const double u = uniform_draw(r.state.seed, r.state.draws);
        const double distance = distance_to_boundary(r, u);
        if (distance < kBoundary) {
          ++tally.boundary;
        } else {
          ++tally.unexplained;
          ADD_FAILURE() << where << ": GPU chose " << got[i].id << ", host " << expected.id
                        << " with u " << u << " at " << distance << " from a CDF boundary"
                        << " (temperature " << r.params.temperature << ", top_k "
                        << r.params.top_k << ", top_p " << r.params.top_p << ", min_p "
                        << r.params.min_p << ")";
        }
      }
    }
    if (got[i].id == expected.id) {
      EXPECT_EQ(got_states[i].output_counts, expected_state.output_counts) << where;
    }
    if (r.params.logprobs) {
      expect_logprob(got[i].logprob, expected.logprob, where);
      ASSERT_EQ(got[i].top_logprobs.size(), expected.top_logprobs.size()) << where;
      for (std::size_t k = 0; k < expected.top_logprobs.size(); ++k) {
        EXPECT_EQ(got[i].top_logprobs[k].first, expected.top_logprobs[k].first)
            << where << " top " << k;
        expect_logprob(got[i].top_logprobs[k].second, expected.top_logprobs[k].second,
                       where + " top " + std::to_string(k));
      }
    } else {
      EXPECT_TRUE(got[i].top_logprobs.empty()) << where;
    }
  }
}

class CudaSampling : public ::testing::Test {
 protected:
  void SetUp() override { SKIP_WITHOUT_GPU(); }
};

TEST_F(CudaSampling, AgreesWithTheHostSamplerOnRandomRows) {
  CudaBackend backend(0);
  Tally tally;
  std::mt19937 rng(2024);
  const std::int64_t vocabs[] = {1, 7, 1000, 32000, 128256, 151936};
  for (const std::int64_t vocab : vocabs) {
    const int batches = vocab >= 32000 ? 6 : 3;
    for (int b = 0; b < batches; ++b) {
      const auto rows = random_rows(rng, vocab >= 32000 ? 40 : 64, vocab);
      const Tensor logits = upload_rows(backend, rows, vocab);
      std::vector<SamplingState> states;
      const auto got = gpu_sample(backend, logits, rows, states);
      compare("vocab " + std::to_string(vocab) + " batch " + std::to_string(b), rows, got, states,
              tally);
    }
  }
  std::cout << "[cuda sampling] " << tally.greedy << " greedy rows, " << tally.sampled
            << " sampled rows: " << tally.boundary << " differed with u within " << kBoundary
            << " of a CDF boundary, " << tally.unexplained << " otherwise\n";
  EXPECT_EQ(tally.unexplained, 0);
  EXPECT_LE(tally.boundary, tally.sampled / 100 + 1) << "boundary cases should be rare";
  EXPECT_GT(tally.greedy, 100);
  EXPECT_GT(tally.sampled, 400);
}

TEST_F(CudaSampling, TiesInfinitiesAndTinyVocabulariesAgreeWithTheHost) {
  CudaBackend backend(0);
  std::vector<Row> rows;
  const auto add = [&](std::vector<float> logits, SamplingParams p, std::uint64_t draws) {
    SamplingState state = SamplingState::start({}, p, 99);
    state.draws = draws;
    rows.push_back({std::move(logits), p, state});
  };
  const std::int64_t vocab = 4096;
  const float inf = std::numeric_limits<float>::infinity();
  for (std::uint64_t d = 0; d < 8; ++d) {
    SamplingParams p;
    p.logprobs = true;
    p.top_logprobs = 20;
    add(std::vector<float>(vocab, 0.5f), p, d);  // every token tied
    p.top_k = 3;
    add(std::vector<float>(vocab, -2.0f), p, d);  // top-k of ties keeps them all
    p.top_k = 0;
    p.top_p = 0.001f;
    add(std::vector<float>(vocab, 1.0f), p, d);  // the nucleus: the lowest ids among ties
    std::vector<float> masked(vocab, -inf);
    masked[17] = 3.0f;
    masked[4000] = 3.0f;
    masked[300] = 2.5f;
    p.top_p = 0.6f;
    add(masked, p, d);  // only three finite tokens; top-p cuts among ties
    p.top_p = 1.0f;
    p.temperature = 0.0f;
    add(masked, p, d);  // greedy: the first of the tied maxima
    std::vector<float> nan_later(vocab, 0.0f);
    nan_later[5] = std::numeric_limits<float>::quiet_NaN();
    nan_later[9] = 1.0f;
    add(nan_later, p, d);  // NaN never wins (except at index 0)
    p.temperature = 1.0f;
    p.top_k = 2;
    p.min_p = 0.5f;
    add(nan_later, p, d);
  }
  std::vector<SamplingState> states;
  const Tensor logits = upload_rows(backend, rows, vocab);
  Tally tally;
  compare("edge", rows, gpu_sample(backend, logits, rows, states), states, tally);
  EXPECT_EQ(tally.unexplained, 0);

  // One token: every parameter leaves it.
  std::vector<Row> one;
  for (int i = 0; i < 4; ++i) {
    SamplingParams p;
    p.temperature = i == 0 ? 0.0f : 0.5f;
    p.top_p = 0.3f;
    p.logprobs = true;
    p.top_logprobs = 5;
    one.push_back({{-1.5f}, p, SamplingState::start({}, p, 3)});
  }
  const auto got = gpu_sample(backend, upload_rows(backend, one, 1), one, states);
  for (const auto& token : got) {
    EXPECT_EQ(token.id, 0);
    EXPECT_NEAR(token.logprob, 0.0f, 1e-6);
    ASSERT_EQ(token.top_logprobs.size(), 1u);
  }
}

TEST_F(CudaSampling, ResultsDoNotDependOnTheBatchAndRepeat) {
  CudaBackend backend(0);
  std::mt19937 rng(77);
  const std::int64_t vocab = 128256;
  const auto rows = random_rows(rng, 24, vocab);
  const Tensor logits = upload_rows(backend, rows, vocab);
  std::vector<SamplingState> states;
  const auto batch = gpu_sample(backend, logits, rows, states);
  const auto again = gpu_sample(backend, logits, rows, states);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(again[i].id, batch[i].id) << "row " << i;
    EXPECT_EQ(again[i].logprob, batch[i].logprob) << "row " << i;
    // Alone, from its own tensor of one row.
    const std::vector<Row> alone = {rows[i]};
    const auto single = gpu_sample(backend, upload_rows(backend, alone, vocab), alone, states);
    EXPECT_EQ(single[0].id, batch[i].id) << "row " << i << " alone";
    EXPECT_EQ(single[0].logprob, batch[i].logprob) << "row " << i << " alone";
    EXPECT_EQ(single[0].top_logprobs, batch[i].top_logprobs) << "row " << i << " alone";
  }
}

TEST_F(CudaSampling, ErrorsMatchTheHostsAndChangeNoState) {
  CudaBackend backend(0);
  const std::int64_t vocab = 64;
  SamplingParams p;
  p.temperature = 0.9f;
  std::vector<Row> rows(2);
  rows[0] = {std::vector<float>(vocab, 0.25f), p, SamplingState::start({}, p, 1)};
  rows[1] = {std::vector<float>(vocab, -std::numeric_limits<float>::infinity()), p,
             SamplingState::start({}, p, 2)};
  std::vector<SamplingState> states;
  const Tensor logits = upload_rows(backend, rows, vocab);
  auto e = test::expect_error([&] { gpu_sample(backend, logits, rows, states); });
  test::expect_error_mentions(e, ErrorCategory::invalid_argument, {"largest logit", "not finite"});
  for (const auto& s : states) {
    EXPECT_EQ(s.draws, 0u);
    EXPECT_TRUE(s.output_counts.empty());
  }
  rows[1].logits.assign(vocab, 0.0f);
  rows[1].logits[0] = std::numeric_limits<float>::quiet_NaN();  // the host keeps a NaN first logit
  e = test::expect_error([&] { gpu_sample(backend, upload_rows(backend, rows, vocab), rows, states); });
  test::expect_error_mentions(e, ErrorCategory::invalid_argument, {"not finite"});

  rows[1].params.presence_penalty = 0.5f;
  rows[1].logits.assign(vocab, 0.0f);
  rows[1].state.record(static_cast<std::int32_t>(vocab));
  e = test::expect_error([&] { gpu_sample(backend, upload_rows(backend, rows, vocab), rows, states); });
  test::expect_error_mentions(e, ErrorCategory::invalid_argument, {"token id 64", "64 logits"});
}

TEST_F(CudaSampling, VocabulariesTooLargeForTheKernelSampleOnTheHost) {
  CudaBackend backend(0);
  std::mt19937 rng(3);
  const std::int64_t vocab = kernels::cuda::kSamplingMaxVocab + 5;
  std::vector<Row> rows(3);
  for (Row& r : rows) {
    r.logits = random_row(rng, vocab);
    r.params = random_params(rng, vocab);
    r.params.temperature = 0.8f;
    r.state = random_state(rng, vocab, r.params);
  }
  std::vector<SamplingState> states;
  const auto got = gpu_sample(backend, upload_rows(backend, rows, vocab), rows, states);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SamplingState state = rows[i].state;
    EXPECT_EQ(got[i].id, sample_token(rows[i].logits, rows[i].params, state).id) << "row " << i;
    EXPECT_EQ(states[i].draws, state.draws);
  }
}

}  // namespace
}  // namespace tessera::runtime
