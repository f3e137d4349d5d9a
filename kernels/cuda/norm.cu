// RMSNorm, alone and fused with the residual add, for f32 and bf16 activations.
#include "kernels/cuda/element.cuh"
#include "kernels/cuda/kernels.hpp"

namespace tessera::kernels::cuda {
namespace {

using namespace detail;

// Each thread reads x[j] and writes out[j] for the same j, so out may equal x.
template <class In, class Out>
__device__ void normalize_vector(const In* x, std::int64_t dim, const __nv_bfloat16* weight,
                                 float eps, Out* out) {
  float sum_squares = 0.0f;
  for (std::int64_t j = threadIdx.x; j < dim; j += kThreads) {
    const float v = to_float(x[j]);
    sum_squares += v * v;
  }
  const float inv_rms = rsqrtf(block_sum(sum_squares) / static_cast<float>(dim) + eps);
  for (std::int64_t j = threadIdx.x; j < dim; j += kThreads) {
    out[j] = from_float<Out>(to_float(x[j]) * inv_rms * __bfloat162float(weight[j]));
  }
}

// One block per (token, group): vector (t, g) starts at x + t * stride + g * dim.
template <class T>
__global__ void rms_norm_kernel(const T* x, std::int64_t groups, std::int64_t dim,
                                std::int64_t stride, const __nv_bfloat16* weight, float eps,
                                T* out, std::int64_t out_stride) {
  const std::int64_t token = blockIdx.x / groups;
  const std::int64_t group = blockIdx.x % groups;
  normalize_vector(x + token * stride + group * dim, dim, weight, eps,
                   out + token * out_stride + group * dim);
}

// The residual stays f32 so it does not lose precision across layers.
template <class T>
__global__ void add_rms_norm_kernel(float* residual, const T* x, std::int64_t dim,
                                    const __nv_bfloat16* weight, float eps, T* out) {
  const std::int64_t row = blockIdx.x;
  float* res = residual + row * dim;
  for (std::int64_t j = threadIdx.x; j < dim; j += kThreads) res[j] += to_float(x[row * dim + j]);
  __syncthreads();
  normalize_vector(res, dim, weight, eps, out + row * dim);
}

// The same for rows of at most kPerThread * kThreads values, held in registers: every load is
// issued at once and the row is read once, where the loop above makes three dependent passes over
// memory. Decode steps run this twice per layer on a handful of rows, so its latency is the cost.
template <int kPerThread, class T>
__global__ void __launch_bounds__(kThreads)
    add_rms_norm_registers_kernel(float* residual, const T* x, std::int64_t dim,
                                  const __nv_bfloat16* weight, float eps, T* out) {
  const std::int64_t row = blockIdx.x;
  float* res = residual + row * dim;
  const T* x_row = x + row * dim;
  float values[kPerThread];
  float sum_squares = 0.0f;
#pragma unroll
  for (int i = 0; i < kPerThread; ++i) {
    const std::int64_t j = threadIdx.x + static_cast<std::int64_t>(i) * kThreads;
    values[i] = j < dim ? res[j] + to_float(x_row[j]) : 0.0f;
    sum_squares += values[i] * values[i];
  }
  const float inv_rms = rsqrtf(block_sum(sum_squares) / static_cast<float>(dim) + eps);
  T* out_row = out + row * dim;
#pragma unroll
  for (int i = 0; i < kPerThread; ++i) {
    const std::int64_t j = threadIdx.x + static_cast<std::int64_t>(i) * kThreads;
    if (j < dim) {
      res[j] = values[i];
      out_row[j] = from_float<T>(values[i] * inv_rms * __bfloat162float(weight[j]));
    }
  }
}

template <class T>
void launch_rms_norm(const T* x, std::int64_t tokens, std::int64_t groups, std::int64_t dim,
                     std::int64_t stride, const __nv_bfloat16* weight, float eps, T* out,
                     std::int64_t out_stride, cudaStream_t stream) {
  if (tokens * groups == 0) return;
  rms_norm_kernel<<<static_cast<unsigned>(tokens * groups), kThreads, 0, stream>>>(
      x, groups, dim, stride, weight, eps, out, out_stride);
}

template <class T>
void launch_add_rms_norm(float* residual, const T* x, std::int64_t rows, std::int64_t dim,
                         const __nv_bfloat16* weight, float eps, T* out, cudaStream_t stream) {
  if (rows == 0) return;
  const auto blocks = static_cast<unsigned>(rows);
  if (dim <= 8 * kThreads) {
    add_rms_norm_registers_kernel<8><<<blocks, kThreads, 0, stream>>>(residual, x, dim, weight,
                                                                       eps, out);
  } else if (dim <= 16 * kThreads) {
    add_rms_norm_registers_kernel<16><<<blocks, kThreads, 0, stream>>>(residual, x, dim, weight,
                                                                        eps, out);
  } else if (dim <= 32 * kThreads) {
    add_rms_norm_registers_kernel<32><<<blocks, kThreads, 0, stream>>>(residual, x, dim, weight,
                                                                        eps, out);
  } else {
    add_rms_norm_kernel<<<blocks, kThreads, 0, stream>>>(residual, x, dim, weight, eps, out);
  }
}

}  // namespace

void rms_norm(const __nv_bfloat16* x, std::int64_t rows, std::int64_t dim,
              const __nv_bfloat16* weight, float eps, __nv_bfloat16* out, cudaStream_t stream) {
  launch_rms_norm(x, rows, 1, dim, dim, weight, eps, out, dim, stream);
}

void add_rms_norm(float* residual, const __nv_bfloat16* x, std::int64_t rows, std::int64_t dim,
                  const __nv_bfloat16* weight, float eps, __nv_bfloat16* out,
                  cudaStream_t stream) {
  launch_add_rms_norm(residual, x, rows, dim, weight, eps, out, stream);
}

void rms_norm_f32(const float* x, std::int64_t tokens, std::int64_t groups, std::int64_t dim,
                  std::int64_t stride, const __nv_bfloat16* weight, float eps, float* out,
                  std::int64_t out_stride, cudaStream_t stream) {
  launch_rms_norm(x, tokens, groups, dim, stride, weight, eps, out, out_stride, stream);
}

void add_rms_norm_f32(float* residual, const float* x, std::int64_t rows, std::int64_t dim,
                      const __nv_bfloat16* weight, float eps, float* out, cudaStream_t stream) {
  launch_add_rms_norm(residual, x, rows, dim, weight, eps, out, stream);
}

}  // namespace tessera::kernels::cuda
