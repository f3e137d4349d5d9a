// The CPU RMSNorm kernels against the formula written out here in double:
// out = x / sqrt(mean(x²) + eps) · (weight_offset + w), for the plain weight (offset 0) and
// Gemma's stored-minus-one weight (offset 1), with strided rows and the fused residual add.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/norm.hpp"

namespace tessera::kernels::cpu {
namespace {

std::vector<float> random_values(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

std::vector<double> reference_row(const float* x, std::int64_t dim, const float* w, double eps,
                                  double offset) {
  double sum = 0.0;
  for (std::int64_t j = 0; j < dim; ++j) sum += double(x[j]) * x[j];
  const double inv = 1.0 / std::sqrt(sum / double(dim) + eps);
  std::vector<double> out(static_cast<std::size_t>(dim));
  for (std::int64_t j = 0; j < dim; ++j) out[j] = x[j] * inv * (offset + double(w[j]));
  return out;
}

class RmsNormOffset : public ::testing::TestWithParam<float> {};

TEST_P(RmsNormOffset, StridedRowsMatchTheFormula) {
  const float offset = GetParam();
  const std::int64_t rows = 3, dim = 16, stride = 20, out_stride = 18;
  const auto x = random_values(static_cast<std::size_t>(rows * stride), 1);
  const auto w = random_values(static_cast<std::size_t>(dim), 2);
  std::vector<float> out(static_cast<std::size_t>(rows * out_stride), -7.0f);
  rms_norm(x.data(), rows, dim, stride, w.data(), 1e-6f, offset, out.data(), out_stride);
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto expected = reference_row(x.data() + r * stride, dim, w.data(), 1e-6, offset);
    for (std::int64_t j = 0; j < dim; ++j) {
      EXPECT_NEAR(out[r * out_stride + j], expected[j], 1e-5) << "row " << r << " col " << j;
    }
    for (std::int64_t j = dim; j < out_stride; ++j) {
      EXPECT_EQ(out[r * out_stride + j], -7.0f) << "wrote past the row at " << r << ", " << j;
    }
  }
}

TEST_P(RmsNormOffset, AddRmsNormUpdatesTheResidualThenNormalisesIt) {
  const float offset = GetParam();
  const std::int64_t rows = 2, dim = 12;
  auto residual = random_values(static_cast<std::size_t>(rows * dim), 3);
  const auto x = random_values(static_cast<std::size_t>(rows * dim), 4);
  const auto w = random_values(static_cast<std::size_t>(dim), 5);
  std::vector<float> sum(residual.size());
  for (std::size_t i = 0; i < sum.size(); ++i) sum[i] = residual[i] + x[i];
  std::vector<float> out(residual.size());
  add_rms_norm(residual.data(), x.data(), rows, dim, w.data(), 1e-5f, offset, out.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto expected = reference_row(sum.data() + r * dim, dim, w.data(), 1e-5, offset);
    for (std::int64_t j = 0; j < dim; ++j) {
      EXPECT_EQ(residual[r * dim + j], sum[r * dim + j]);
      EXPECT_NEAR(out[r * dim + j], expected[j], 1e-5) << "row " << r << " col " << j;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(WeightOffsets, RmsNormOffset, ::testing::Values(0.0f, 1.0f));

TEST(RmsNorm, OffsetOneWithZeroWeightIsThePlainNormalisation) {
  // Gemma's weights are stored as w with the scale 1 + w: a zero weight leaves x / rms(x).
  const std::vector<float> x = {3.0f, -4.0f};  // mean(x²) = 12.5
  const std::vector<float> w = {0.0f, 0.0f};
  std::vector<float> out(2);
  rms_norm(x.data(), 1, 2, 2, w.data(), 0.0f, 1.0f, out.data(), 2);
  EXPECT_NEAR(out[0], 3.0 / std::sqrt(12.5), 1e-6);
  EXPECT_NEAR(out[1], -4.0 / std::sqrt(12.5), 1e-6);
}

}  // namespace
}  // namespace tessera::kernels::cpu
