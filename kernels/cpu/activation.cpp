#include "kernels/cpu/activation.hpp"

#include <cmath>

namespace tessera::kernels::cpu {

void silu_mul(const float* gate_up, std::int64_t rows, std::int64_t width, float* out) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* gate = gate_up + r * 2 * width;
    const float* up = gate + width;
    float* o = out + r * width;
    for (std::int64_t j = 0; j < width; ++j) {
      const float g = gate[j];
      o[j] = g / (1.0f + std::exp(-g)) * up[j];
    }
  }
}

void gelu_tanh_mul(const float* gate_up, std::int64_t rows, std::int64_t width, float* out) {
  const float sqrt_2_over_pi = 0.7978845608028654f;
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* gate = gate_up + r * 2 * width;
    const float* up = gate + width;
    float* o = out + r * width;
    for (std::int64_t j = 0; j < width; ++j) {
      const float g = gate[j];
      const float inner = sqrt_2_over_pi * (g + 0.044715f * g * g * g);
      o[j] = 0.5f * g * (1.0f + std::tanh(inner)) * up[j];
    }
  }
}

void scale_inplace(float* x, float factor, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) x[i] *= factor;
}

void add_inplace(float* acc, const float* x, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) acc[i] += x[i];
}

}  // namespace tessera::kernels::cpu
