#include "kernels/cpu/matmul.hpp"

#include <cblas.h>

namespace tessera::kernels::cpu {

void linear(const float* x, std::int64_t n, std::int64_t k, const float* weight, std::int64_t m,
            const float* bias, float* out) {
  float beta = 0.0f;
  if (bias != nullptr) {
    for (std::int64_t r = 0; r < n; ++r) {
      for (std::int64_t j = 0; j < m; ++j) out[r * m + j] = bias[j];
    }
    beta = 1.0f;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(m),
              static_cast<int>(k), 1.0f, x, static_cast<int>(k), weight, static_cast<int>(k), beta,
              out, static_cast<int>(m));
}

}  // namespace tessera::kernels::cpu
