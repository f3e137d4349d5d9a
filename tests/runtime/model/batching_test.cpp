// A sequence's logits must not depend on how its tokens are batched: prefill in one chunk or
// several, alone or beside other sequences, in cache blocks of any size or order. The scheduler's
// continuous batching relies on this.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tests/support/fixture_models.hpp"

namespace tessera::testing {
namespace {

using runtime::ForwardBatch;
using runtime::KvCache;

constexpr double kTolerance = 1e-4;

struct Sequence {
  std::vector<std::int32_t> tokens;
  std::vector<std::int32_t> block_table;
  std::int64_t cached = 0;  // tokens already in the cache
};

// Appends `count` of the sequence's next tokens to the batch.
void add_chunk(ForwardBatch& batch, Sequence& seq, std::int64_t count, std::int64_t block_size) {
  batch.sequences.push_back({static_cast<std::int64_t>(batch.token_ids.size()), count,
                             seq.block_table});
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t pos = seq.cached + i;
    batch.token_ids.push_back(seq.tokens[static_cast<std::size_t>(pos)]);
    batch.positions.push_back(static_cast<std::int32_t>(pos));
    batch.slots.push_back(seq.block_table[static_cast<std::size_t>(pos / block_size)] * block_size +
                          pos % block_size);
  }
  seq.cached += count;
}

std::vector<float> row(runtime::Transformer& model, const runtime::Tensor& logits, std::int64_t r) {
  std::vector<float> all(static_cast<std::size_t>(logits.numel()));
  model.backend().to_host(logits, all);
  const auto begin = all.begin() + r * logits.cols();
  return {begin, begin + logits.cols()};
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::abs(double(a[i]) - b[i]));
  return diff;
}

std::vector<std::int32_t> prompt_of(const LoadedFixture& f, std::size_t case_index) {
  return f.golden.at("cases").at(case_index).at("prompt_ids").get<std::vector<std::int32_t>>();
}

// Logits after prefilling `tokens` in one chunk, with contiguous blocks of `block_size`.
std::vector<float> one_shot(runtime::Transformer& model, const std::vector<std::int32_t>& tokens,
                            std::int64_t block_size) {
  const std::int64_t blocks = runtime::blocks_for_tokens(std::ssize(tokens), block_size);
  KvCache cache = model.allocate_cache(blocks, block_size);
  Sequence seq{tokens, std::vector<std::int32_t>(static_cast<std::size_t>(blocks)), 0};
  std::iota(seq.block_table.begin(), seq.block_table.end(), 0);
  ForwardBatch batch;
  add_chunk(batch, seq, std::ssize(tokens), block_size);
  return row(model, model.forward(batch, cache), 0);
}

class BatchingTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BatchingTest, ChunkedPrefillEqualsOneShot) {
  auto f = load_fixture(GetParam());
  const auto tokens = prompt_of(*f, 1);
  const auto expected = one_shot(*f->model, tokens, 4);
  const std::int64_t block_size = 4;
  KvCache cache = f->model->allocate_cache(runtime::blocks_for_tokens(std::ssize(tokens), 4), 4);
  Sequence seq{tokens, {}, 0};
  seq.block_table.resize(static_cast<std::size_t>(cache.num_blocks));
  std::iota(seq.block_table.begin(), seq.block_table.end(), 0);
  std::vector<float> last;
  for (const std::int64_t chunk : {std::int64_t{3}, std::int64_t{1}, std::int64_t{5}}) {
    ForwardBatch batch;
    add_chunk(batch, seq, std::min(chunk, std::ssize(tokens) - seq.cached), block_size);
    last = row(*f->model, f->model->forward(batch, cache), 0);
  }
  while (seq.cached < std::ssize(tokens)) {
    ForwardBatch batch;
    add_chunk(batch, seq, std::min<std::int64_t>(4, std::ssize(tokens) - seq.cached), block_size);
    last = row(*f->model, f->model->forward(batch, cache), 0);
  }
  EXPECT_LT(max_abs_diff(last, expected), kTolerance);
}

TEST_P(BatchingTest, BlockSizeDoesNotMatter) {
  auto f = load_fixture(GetParam());
  const auto tokens = prompt_of(*f, 1);
  const auto reference = one_shot(*f->model, tokens, 16);
  EXPECT_LT(max_abs_diff(one_shot(*f->model, tokens, 1), reference), kTolerance);
  EXPECT_LT(max_abs_diff(one_shot(*f->model, tokens, 3), reference), kTolerance);
}

TEST_P(BatchingTest, SequencesInOneBatchMatchTheirSoloRuns) {
  auto f = load_fixture(GetParam());
  const auto long_prompt = prompt_of(*f, 1);
  const auto short_prompt = prompt_of(*f, 0);
  const std::int64_t block_size = 4;
  // Interleaved, out-of-order blocks: each sequence's table must be followed, not assumed.
  KvCache cache = f->model->allocate_cache(16, block_size);
  Sequence a{long_prompt, {9, 2, 14, 0, 7, 11, 5, 3, 12, 1}, 0};
  Sequence b{short_prompt, {4, 13, 6, 8, 10, 15}, 0};
  ASSERT_LE(runtime::blocks_for_tokens(std::ssize(a.tokens), block_size), std::ssize(a.block_table));
  ASSERT_LE(runtime::blocks_for_tokens(std::ssize(b.tokens), block_size), std::ssize(b.block_table));

  // Step 1: b's whole prompt beside the first part of a's; step 2: the rest of a's.
  ForwardBatch first;
  add_chunk(first, b, std::ssize(b.tokens), block_size);
  add_chunk(first, a, std::ssize(a.tokens) / 2, block_size);
  const auto first_logits = f->model->forward(first, cache);
  ForwardBatch second;
  add_chunk(second, a, std::ssize(a.tokens) - a.cached, block_size);
  const auto second_logits = f->model->forward(second, cache);

  EXPECT_LT(max_abs_diff(row(*f->model, first_logits, 0), one_shot(*f->model, short_prompt, 4)),
            kTolerance);
  EXPECT_LT(max_abs_diff(row(*f->model, second_logits, 0), one_shot(*f->model, long_prompt, 4)),
            kTolerance);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BatchingTest, ::testing::ValuesIn(fixture_model_names()),
                         [](const auto& test_param) { return test_param.param; });

}  // namespace
}  // namespace tessera::testing
