#pragma once
#include <cstdint>

namespace tessera::kernels::cpu {

// RMSNorm of `rows` rows of `dim` values each, starting `stride` floats apart:
// out = x / sqrt(mean(x^2) + eps) * (weight_offset + weight), the sum in f32 (Gemma keeps w and
// scales by 1 + w; other models pass 0). `out` may alias `x`; out rows are `out_stride` apart.
void rms_norm(const float* x, std::int64_t rows, std::int64_t dim, std::int64_t stride,
              const float* weight, float eps, float weight_offset, float* out,
              std::int64_t out_stride);

// The residual stream's step between sublayers, fused: residual += x; out = rms_norm(residual).
void add_rms_norm(float* residual, const float* x, std::int64_t rows, std::int64_t dim,
                  const float* weight, float eps, float weight_offset, float* out);

}  // namespace tessera::kernels::cpu
