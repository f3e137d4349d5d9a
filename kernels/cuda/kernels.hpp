#pragma once
// CUDA kernels on device pointers. Activations and weights are stored in bf16; every reduction
// and every elementwise formula is computed in f32. Each launch goes on the given stream and
// returns without synchronising; launch errors surface at the next CUDA call that checks.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace tessera::kernels::cuda {

// out[i, :] = table[ids[i], :].
void embedding_lookup(const __nv_bfloat16* table, std::int64_t dim, const std::int32_t* ids,
                      std::int64_t count, __nv_bfloat16* out, cudaStream_t stream);

// out = x / sqrt(mean(x^2) + eps) * weight, row by row.
void rms_norm(const __nv_bfloat16* x, std::int64_t rows, std::int64_t dim,
              const __nv_bfloat16* weight, float eps, __nv_bfloat16* out, cudaStream_t stream);

// residual += x (kept in f32 so the residual stream does not lose precision across layers);
// out = rms_norm(residual).
void add_rms_norm(float* residual, const __nv_bfloat16* x, std::int64_t rows, std::int64_t dim,
                  const __nv_bfloat16* weight, float eps, __nv_bfloat16* out,
                  cudaStream_t stream);

// out[r, j] = silu(gate_up[r, j]) * gate_up[r, width + j].
void silu_mul(const __nv_bfloat16* gate_up, std::int64_t rows, std::int64_t width,
              __nv_bfloat16* out, cudaStream_t stream);

// Rotary embedding, "rotate half" layout, in place on `heads` heads per row.
void rope_rotate_half(__nv_bfloat16* x, std::int64_t tokens, std::int64_t stride,
                      std::int64_t heads, std::int64_t head_dim, const std::int32_t* positions,
                      const float* inv_freq, cudaStream_t stream);

}  // namespace tessera::kernels::cuda
