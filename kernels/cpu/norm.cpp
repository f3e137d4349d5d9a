#include "kernels/cpu/norm.hpp"

#include <cmath>

namespace tessera::kernels::cpu {
namespace {

void normalize_row(const float* x, std::int64_t dim, const float* weight, float eps,
                   float weight_offset, float* out) {
  // Accumulate in double: the reference sums in f32 on the GPU in a different order, and a
  // more precise sum here keeps us closest to the exact value both approximate.
  double sum_squares = 0.0;
  for (std::int64_t j = 0; j < dim; ++j) sum_squares += static_cast<double>(x[j]) * x[j];
  const float inv_rms =
      static_cast<float>(1.0 / std::sqrt(sum_squares / static_cast<double>(dim) + eps));
  for (std::int64_t j = 0; j < dim; ++j) out[j] = x[j] * inv_rms * (weight_offset + weight[j]);
}

}  // namespace

void rms_norm(const float* x, std::int64_t rows, std::int64_t dim, std::int64_t stride,
              const float* weight, float eps, float weight_offset, float* out,
              std::int64_t out_stride) {
  for (std::int64_t r = 0; r < rows; ++r) {
    normalize_row(x + r * stride, dim, weight, eps, weight_offset, out + r * out_stride);
  }
}

void add_rms_norm(float* residual, const float* x, std::int64_t rows, std::int64_t dim,
                  const float* weight, float eps, float weight_offset, float* out) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* res = residual + r * dim;
    const float* add = x + r * dim;
    for (std::int64_t j = 0; j < dim; ++j) res[j] += add[j];
    normalize_row(res, dim, weight, eps, weight_offset, out + r * dim);
  }
}

}  // namespace tessera::kernels::cpu
