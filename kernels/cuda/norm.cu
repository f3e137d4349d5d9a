#include "kernels/cuda/kernels.hpp"

namespace tessera::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// Sum over the block; every thread gets the result.
__device__ float block_sum(float value) {
  __shared__ float warp_sums[kThreads / 32];
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  const int warp = threadIdx.x / 32;
  if (threadIdx.x % 32 == 0) warp_sums[warp] = value;
  __syncthreads();
  float total = 0.0f;
  for (int w = 0; w < kThreads / 32; ++w) total += warp_sums[w];
  __syncthreads();  // warp_sums may be reused by the caller's next reduction
  return total;
}

template <class Input>
__device__ void normalize_row(const Input* x, std::int64_t dim, const __nv_bfloat16* weight,
                              float eps, __nv_bfloat16* out) {
  float sum_squares = 0.0f;
  for (std::int64_t j = threadIdx.x; j < dim; j += kThreads) {
    const float v = static_cast<float>(x[j]);
    sum_squares += v * v;
  }
  const float inv_rms = rsqrtf(block_sum(sum_squares) / static_cast<float>(dim) + eps);
  for (std::int64_t j = threadIdx.x; j < dim; j += kThreads) {
    out[j] = __float2bfloat16(static_cast<float>(x[j]) * inv_rms * __bfloat162float(weight[j]));
  }
}

__global__ void rms_norm_kernel(const __nv_bfloat16* x, std::int64_t dim,
                                const __nv_bfloat16* weight, float eps, __nv_bfloat16* out) {
  const std::int64_t row = blockIdx.x;
  normalize_row(x + row * dim, dim, weight, eps, out + row * dim);
}

__global__ void add_rms_norm_kernel(float* residual, const __nv_bfloat16* x, std::int64_t dim,
                                    const __nv_bfloat16* weight, float eps, __nv_bfloat16* out) {
  const std::int64_t row = blockIdx.x;
  float* res = residual + row * dim;
  for (std::int64_t j = threadIdx.x; j < dim; j += kThreads) {
    res[j] += __bfloat162float(x[row * dim + j]);
  }
  __syncthreads();
  normalize_row(res, dim, weight, eps, out + row * dim);
}

}  // namespace

void rms_norm(const __nv_bfloat16* x, std::int64_t rows, std::int64_t dim,
              const __nv_bfloat16* weight, float eps, __nv_bfloat16* out, cudaStream_t stream) {
  if (rows == 0) return;
  rms_norm_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(x, dim, weight, eps, out);
}

void add_rms_norm(float* residual, const __nv_bfloat16* x, std::int64_t rows, std::int64_t dim,
                  const __nv_bfloat16* weight, float eps, __nv_bfloat16* out,
                  cudaStream_t stream) {
  if (rows == 0) return;
  add_rms_norm_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(residual, x, dim,
                                                                            weight, eps, out);
}

}  // namespace tessera::kernels::cuda
