// The host selection kernels behind top-k, top-p and top_logprobs, against plain sorts.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/cpu/sampling.hpp"
#include "tests/runtime/sampling/reference.hpp"

namespace tessera::kernels::cpu {
namespace {

std::vector<float> random_values(std::size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> level(0, 40);  // few distinct values: many ties
  std::vector<float> values(count);
  for (float& v : values) v = static_cast<float>(level(rng)) * 0.25f;
  return values;
}

TEST(SamplingKernelsTest, SortLargestFirstMatchesAStableSort) {
  const std::vector<float> values = random_values(3000, 1);
  const auto expected =
      runtime::reference::ranked(std::vector<double>(values.begin(), values.end()));
  for (std::int64_t n : {0, 1, 7, 100, 2999, 3000}) {
    std::vector<std::int32_t> ids(values.size());
    std::iota(ids.rbegin(), ids.rend(), 0);  // arrival order must not matter
    sort_largest_first(values.data(), ids.data(), static_cast<std::int64_t>(ids.size()), n);
    EXPECT_TRUE(std::equal(ids.begin(), ids.begin() + n, expected.begin())) << "n " << n;
  }
}

TEST(SamplingKernelsTest, TopNMatchesAStableSort) {
  const std::vector<float> values = random_values(5000, 2);
  const auto expected =
      runtime::reference::ranked(std::vector<double>(values.begin(), values.end()));
  for (std::int64_t n : {1, 5, 20}) {
    std::vector<std::int32_t> out(static_cast<std::size_t>(n));
    ASSERT_EQ(top_n(values.data(), 5000, n, out.data()), n);
    EXPECT_TRUE(std::equal(out.begin(), out.end(), expected.begin())) << "n " << n;
  }
  std::int32_t few[4];
  const float two[] = {1.0f, 3.0f};
  ASSERT_EQ(top_n(two, 2, 4, few), 2);
  EXPECT_EQ(few[0], 1);
  EXPECT_EQ(few[1], 0);
}

TEST(SamplingKernelsTest, LogSumExpIsStableForLargeLogits) {
  const float values[] = {1000.0f, 1000.0f, -1e30f};
  EXPECT_NEAR(log_sum_exp(values, 3), 1000.0 + std::log(2.0), 1e-9);
  const float masked[] = {-std::numeric_limits<float>::infinity()};
  EXPECT_EQ(log_sum_exp(masked, 1), -std::numeric_limits<float>::infinity());
}

}  // namespace
}  // namespace tessera::kernels::cpu
