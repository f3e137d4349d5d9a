// A sequence's logits must not depend on how its tokens are batched: prefill in one chunk or
// several, alone or beside other sequences, in cache blocks of any size or order. The scheduler's
// continuous batching relies on this.
#include <gtest/gtest.h>

#include "tests/support/batching_scenarios.hpp"
#include "tests/support/fixture_models.hpp"

namespace tessera::testing {
namespace {

constexpr double kTolerance = 1e-4;

std::vector<std::int32_t> prompt_of(const LoadedFixture& f, std::size_t case_index) {
  return f.golden.at("cases").at(case_index).at("prompt_ids").get<std::vector<std::int32_t>>();
}

class BatchingTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BatchingTest, ChunkedPrefillEqualsOneShot) {
  auto f = load_fixture(GetParam());
  const auto tokens = prompt_of(*f, 1);
  EXPECT_LT(max_abs_diff(chunked_prefill_logits(*f->model, tokens),
                         one_shot_logits(*f->model, tokens, 4)),
            kTolerance);
}

TEST_P(BatchingTest, BlockSizeDoesNotMatter) {
  auto f = load_fixture(GetParam());
  const auto tokens = prompt_of(*f, 1);
  const auto reference = one_shot_logits(*f->model, tokens, 16);
  EXPECT_LT(max_abs_diff(one_shot_logits(*f->model, tokens, 1), reference), kTolerance);
  EXPECT_LT(max_abs_diff(one_shot_logits(*f->model, tokens, 3), reference), kTolerance);
}

TEST_P(BatchingTest, SequencesInOneBatchMatchTheirSoloRuns) {
  auto f = load_fixture(GetParam());
  const auto long_prompt = prompt_of(*f, 1);
  const auto short_prompt = prompt_of(*f, 0);
  const auto shared = two_sequences_sharing_steps(*f->model, long_prompt, short_prompt);
  EXPECT_LT(max_abs_diff(shared.short_prompt, one_shot_logits(*f->model, short_prompt, 4)),
            kTolerance);
  EXPECT_LT(max_abs_diff(shared.long_prompt, one_shot_logits(*f->model, long_prompt, 4)),
            kTolerance);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BatchingTest, ::testing::ValuesIn(fixture_model_names()),
                         [](const auto& test_param) { return test_param.param; });

}  // namespace
}  // namespace tessera::testing
