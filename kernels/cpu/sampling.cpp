#include "kernels/cpu/sampling.hpp"

namespace tessera::kernels::cpu {

std::int64_t argmax(const float* values, std::int64_t count) {
  std::int64_t best = 0;
  for (std::int64_t i = 1; i < count; ++i) {
    if (values[i] > values[best]) best = i;
  }
  return best;
}

}  // namespace tessera::kernels::cpu
