#include "kernels/cpu/rope.hpp"

#include <cmath>
#include <vector>

namespace tessera::kernels::cpu {

void rope_rotate_half(float* x, std::int64_t tokens, std::int64_t stride, std::int64_t heads,
                      std::int64_t head_dim, const std::int32_t* positions,
                      const float* inv_freq) {
  const std::int64_t half = head_dim / 2;
  std::vector<float> cos_values(static_cast<std::size_t>(half));
  std::vector<float> sin_values(static_cast<std::size_t>(half));
  for (std::int64_t t = 0; t < tokens; ++t) {
    for (std::int64_t j = 0; j < half; ++j) {
      // The angle is formed in f32 as the reference does; cos/sin of it are then exact-rounded.
      const float angle = static_cast<float>(positions[t]) * inv_freq[j];
      cos_values[j] = static_cast<float>(std::cos(static_cast<double>(angle)));
      sin_values[j] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
    float* row = x + t * stride;
    for (std::int64_t h = 0; h < heads; ++h) {
      float* head = row + h * head_dim;
      for (std::int64_t j = 0; j < half; ++j) {
        const float a = head[j];
        const float b = head[j + half];
        head[j] = a * cos_values[j] - b * sin_values[j];
        head[j + half] = b * cos_values[j] + a * sin_values[j];
      }
    }
  }
}

}  // namespace tessera::kernels::cpu
