// Rotary embedding: each (j, j + d/2) pair is rotated by position · inv_freq[j]; rotations keep
// norms and compose, so relative positions are what reach the attention scores.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/rope.hpp"

namespace tessera::kernels::cpu {
namespace {

TEST(Rope, RotatesPairsHalfAHeadApart) {
  const std::vector<float> inv_freq{0.5f, 0.25f};
  std::vector<float> x{1.0f, 2.0f, 3.0f, 4.0f};  // pairs (1, 3) and (2, 4)
  const std::int32_t position = 3;
  rope_rotate_half(x.data(), 1, 4, 1, 4, &position, inv_freq.data());
  const double a0 = 3 * 0.5, a1 = 3 * 0.25;
  EXPECT_NEAR(x[0], 1 * std::cos(a0) - 3 * std::sin(a0), 1e-6);
  EXPECT_NEAR(x[2], 3 * std::cos(a0) + 1 * std::sin(a0), 1e-6);
  EXPECT_NEAR(x[1], 2 * std::cos(a1) - 4 * std::sin(a1), 1e-6);
  EXPECT_NEAR(x[3], 4 * std::cos(a1) + 2 * std::sin(a1), 1e-6);
}

TEST(Rope, DotProductDependsOnlyOnRelativePosition) {
  const std::vector<float> inv_freq{1.0f, 0.1f, 0.01f};
  const std::vector<float> q0{0.3f, -1.2f, 0.7f, 0.9f, 0.1f, -0.4f};
  const std::vector<float> k0{-0.5f, 0.8f, 1.1f, 0.2f, -0.9f, 0.6f};
  auto score = [&](std::int32_t pq, std::int32_t pk) {
    auto q = q0;
    auto k = k0;
    rope_rotate_half(q.data(), 1, 6, 1, 6, &pq, inv_freq.data());
    rope_rotate_half(k.data(), 1, 6, 1, 6, &pk, inv_freq.data());
    double dot = 0.0;
    for (int j = 0; j < 6; ++j) dot += double(q[j]) * k[j];
    return dot;
  };
  EXPECT_NEAR(score(10, 7), score(5, 2), 1e-5);
  EXPECT_NEAR(score(40, 1), score(39, 0), 1e-5);
}

}  // namespace
}  // namespace tessera::kernels::cpu
