#include "kernels/cpu/activation.hpp"

#include <cmath>

namespace tessera::kernels::cpu {

namespace {

// out = act(gate) · up for each row of gate_up, which holds the gate projection then the up one.
template <class Activation>
void gated_mul(const float* gate_up, std::int64_t rows, std::int64_t width, float* out,
               Activation act) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* gate = gate_up + r * 2 * width;
    const float* up = gate + width;
    float* o = out + r * width;
    for (std::int64_t j = 0; j < width; ++j) o[j] = act(gate[j]) * up[j];
  }
}

}  // namespace

void silu_mul(const float* gate_up, std::int64_t rows, std::int64_t width, float* out) {
  gated_mul(gate_up, rows, width, out, [](float g) { return g / (1.0f + std::exp(-g)); });
}

void gelu_tanh_mul(const float* gate_up, std::int64_t rows, std::int64_t width, float* out) {
  gated_mul(gate_up, rows, width, out, [](float g) {
    const float sqrt_2_over_pi = 0.7978845608028654f;
    const float inner = sqrt_2_over_pi * (g + 0.044715f * g * g * g);
    return 0.5f * g * (1.0f + std::tanh(inner));
  });
}

void scale_inplace(float* x, float factor, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) x[i] *= factor;
}

void add_inplace(float* acc, const float* x, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) acc[i] += x[i];
}

}  // namespace tessera::kernels::cpu
