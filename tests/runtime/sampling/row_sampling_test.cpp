// What backends that sample elsewhere build on: the penalty list (uploaded by the CUDA backend
// instead of the logits) changes the logits bit for bit as apply_penalties does, and sample_rows
// (here the CPU backend's) gives each row exactly what sample_token gives, with the same state
// updates, and checks its arguments.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "runtime/backend/cpu_backend.hpp"
#include "runtime/core/error.hpp"
#include "runtime/sampling/token_sampler.hpp"
#include "tests/support/expect_error.hpp"

namespace tessera::runtime {
namespace {

std::vector<float> random_logits(std::mt19937& rng, std::size_t n) {
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> out(n);
  for (float& v : out) v = normal(rng);
  return out;
}

SamplingState random_state(std::mt19937& rng, std::int32_t vocab, const SamplingParams& params) {
  std::uniform_int_distribution<std::int32_t> token(0, vocab - 1);
  std::vector<std::int32_t> prompt(static_cast<std::size_t>(rng() % 12));
  for (auto& t : prompt) t = token(rng);
  SamplingState state = SamplingState::start(prompt, params, rng());
  const int outputs = static_cast<int>(rng() % 20);
  for (int i = 0; i < outputs; ++i) state.record(token(rng));
  state.draws = rng() % 100;
  return state;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(PenaltyEntriesTest, ApplyingThemEqualsApplyPenaltiesBitForBit) {
  std::mt19937 rng(5);
  const std::int32_t vocab = 40;  // small, so prompt and output tokens overlap often
  const float repetitions[] = {1.0f, 1.3f, 0.7f};
  const float others[] = {0.0f, 0.35f, -1.1f};
  int checked = 0;
  for (const float repetition : repetitions) {
    for (const float frequency : others) {
      for (const float presence : others) {
        for (int trial = 0; trial < 20; ++trial) {
          SamplingParams params;
          params.repetition_penalty = repetition;
          params.frequency_penalty = frequency;
          params.presence_penalty = presence;
          const SamplingState state = random_state(rng, vocab, params);
          std::vector<float> expected = random_logits(rng, vocab);
          std::vector<float> actual = expected;
          apply_penalties(expected, params, state);
          std::vector<PenaltyEntry> entries;
          penalty_entries(params, state, vocab, entries);
          for (std::size_t i = 0; i < entries.size(); ++i) {
            if (i > 0) {
              ASSERT_LT(entries[i - 1].id, entries[i].id) << "one entry per token, by id";
            }
            auto& logit = actual[static_cast<std::size_t>(entries[i].id)];
            logit = apply_penalty_entry(logit, entries[i], params.repetition_penalty);
          }
          for (std::int32_t id = 0; id < vocab; ++id) {
            ASSERT_TRUE(same_bits(actual[id], expected[id]))
                << "token " << id << ": " << actual[id] << " vs " << expected[id];
          }
          // One entry per token some penalty touches, and none for any other.
          std::set<std::int32_t> touched;
          if (repetition != 1.0f) touched.insert(state.prompt_tokens.begin(), state.prompt_tokens.end());
          if (repetition != 1.0f || frequency != 0.0f || presence != 0.0f) {
            for (const auto& [id, count] : state.output_counts) touched.insert(id);
          }
          EXPECT_EQ(entries.size(), touched.size());
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 540);
}

TEST(PenaltyEntriesTest, RejectATokenOutsideTheVocabularyAsApplyPenaltiesDoes) {
  SamplingParams params;
  params.presence_penalty = 0.5f;
  SamplingState state = SamplingState::start({}, params, 0);
  state.record(12);
  std::vector<PenaltyEntry> entries;
  const auto e = test::expect_error([&] { penalty_entries(params, state, 10, entries); });
  test::expect_error_mentions(e, ErrorCategory::invalid_argument, {"token id 12", "10 logits"});
}

TEST(SampleRowsTest, CpuBackendEqualsSampleTokenPerRowWithTheSameStateUpdates) {
  std::mt19937 rng(17);
  const std::int64_t rows = 6;
  const std::int32_t vocab = 300;
  CpuBackend backend;
  Tensor logits = Tensor::host_f32({rows, vocab});
  const auto values = random_logits(rng, static_cast<std::size_t>(rows * vocab));
  std::memcpy(logits.data<float>(), values.data(), values.size() * sizeof(float));

  std::vector<SamplingParams> params(4);
  params[0].temperature = 0.0f;
  params[1].temperature = 0.8f;
  params[1].top_k = 20;
  params[1].logprobs = true;
  params[1].top_logprobs = 3;
  params[2].top_p = 0.7f;
  params[2].repetition_penalty = 1.2f;
  params[3].min_p = 0.1f;
  params[3].frequency_penalty = 0.4f;
  std::vector<SamplingState> states;
  for (const auto& p : params) states.push_back(random_state(rng, vocab, p));
  std::vector<SamplingState> expected_states = states;

  // Rows out of order and one skipped, as a step where a sequence needs no token.
  const std::int64_t order[] = {4, 0, 5, 2};
  std::vector<RowSample> samples;
  for (std::size_t i = 0; i < 4; ++i) samples.push_back({order[i], &params[i], &states[i]});
  std::vector<SampledToken> out(samples.size());
  backend.sample_rows(logits, samples, out);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const std::span<const float> row(values.data() + order[i] * vocab, vocab);
    const SampledToken expected = sample_token(row, params[i], expected_states[i]);
    EXPECT_EQ(out[i].id, expected.id) << "row " << i;
    EXPECT_EQ(out[i].logprob, expected.logprob) << "row " << i;
    EXPECT_EQ(out[i].top_logprobs, expected.top_logprobs) << "row " << i;
    EXPECT_EQ(states[i].draws, expected_states[i].draws) << "row " << i;
    EXPECT_EQ(states[i].output_counts, expected_states[i].output_counts) << "row " << i;
  }
}

TEST(SampleRowsTest, BadArgumentsAreErrorsNamingThem) {
  CpuBackend backend;
  Tensor logits = Tensor::host_f32({2, 5});
  SamplingParams params;
  SamplingState state;
  std::vector<SampledToken> out(1);
  std::vector<RowSample> rows = {{2, &params, &state}};
  auto e = test::expect_error([&] { backend.sample_rows(logits, rows, out); });
  test::expect_error_mentions(e, ErrorCategory::invalid_argument, {"rows[0].row = 2", "2 rows"});
  rows = {{1, nullptr, &state}};
  e = test::expect_error([&] { backend.sample_rows(logits, rows, out); });
  test::expect_error_mentions(e, ErrorCategory::invalid_argument, {"rows[0]", "no parameters"});
  rows = {{0, &params, &state}, {1, &params, &state}};
  e = test::expect_error([&] { backend.sample_rows(logits, rows, out); });
  test::expect_error_mentions(e, ErrorCategory::invalid_argument, {"2 rows", "1 places"});
  EXPECT_EQ(state.draws, 0u);
  EXPECT_TRUE(state.output_counts.empty());
}

}  // namespace
}  // namespace tessera::runtime
