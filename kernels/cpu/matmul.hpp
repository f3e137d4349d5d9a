#pragma once
#include <cstdint>

namespace tessera::kernels::cpu {

// out[n, m] = x[n, k] · weight[m, k]^T (+ bias[m]): a linear layer with weights stored as
// checkpoints store them (one row per output feature).
void linear(const float* x, std::int64_t n, std::int64_t k, const float* weight, std::int64_t m,
            const float* bias, float* out);

}  // namespace tessera::kernels::cpu
