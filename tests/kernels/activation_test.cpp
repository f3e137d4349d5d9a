// The CPU activation kernels: gelu_tanh_mul against values of PyTorch's
// gelu(x, approximate="tanh") (computed in double from that formula, listed here), silu_mul's
// layout rule shared with it, and scale_inplace.
#include <gtest/gtest.h>

#include <cmath>
#include <iterator>
#include <vector>

#include "kernels/cpu/activation.hpp"

namespace tessera::kernels::cpu {
namespace {

struct GeluValue {
  float x;
  double gelu_tanh;
};

// 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))) in double; torch.nn.functional.gelu with
// approximate="tanh" gives the same values (to f32 rounding), e.g. 0.8412 at 1.
constexpr GeluValue kGeluValues[] = {
    {-3.0f, -0.0036373920817729943}, {-1.0f, -0.15880800939172324},
    {-0.5f, -0.15428599017485606},   {0.0f, 0.0},
    {0.5f, 0.34571400982514394},     {1.0f, 0.8411919906082768},
    {2.0f, 1.954597694087775},       {3.0f, 2.996362607918227},
};

TEST(GeluTanhMul, GateThroughGeluTimesUp) {
  const std::int64_t width = std::size(kGeluValues);
  // Two rows: row 0 with up = 1, row 1 with up = -2, so the product and the row layout show.
  std::vector<float> gate_up(static_cast<std::size_t>(2 * 2 * width));
  for (std::int64_t j = 0; j < width; ++j) {
    gate_up[j] = kGeluValues[j].x;
    gate_up[width + j] = 1.0f;
    gate_up[2 * width + j] = kGeluValues[j].x;
    gate_up[3 * width + j] = -2.0f;
  }
  std::vector<float> out(static_cast<std::size_t>(2 * width));
  gelu_tanh_mul(gate_up.data(), 2, width, out.data());
  for (std::int64_t j = 0; j < width; ++j) {
    EXPECT_NEAR(out[j], kGeluValues[j].gelu_tanh, 2e-7 + 1e-6 * std::abs(kGeluValues[j].gelu_tanh))
        << "gelu_tanh(" << kGeluValues[j].x << ")";
    EXPECT_NEAR(out[width + j], -2.0 * kGeluValues[j].gelu_tanh,
                4e-7 + 1e-6 * std::abs(kGeluValues[j].gelu_tanh))
        << "row 1, gelu_tanh(" << kGeluValues[j].x << ") * -2";
  }
}

TEST(ScaleInplace, MultipliesEveryElement) {
  std::vector<float> x = {1.0f, -2.5f, 0.0f, 8.0f};
  scale_inplace(x.data(), 0.5f, static_cast<std::int64_t>(x.size()));
  EXPECT_EQ(x, (std::vector<float>{0.5f, -1.25f, 0.0f, 4.0f}));
}

}  // namespace
}  // namespace tessera::kernels::cpu
