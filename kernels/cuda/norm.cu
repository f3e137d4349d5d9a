// RMSNorm, alone and fused with the residual add, for f32 and bf16 activations (and f32 in,
// bf16 out: a normed activation that only feeds a product).
#include "kernels/cuda/element.cuh"
#include "kernels/cuda/kernels.hpp"
#include "kernels/cuda/overlap.cuh"

namespace tessera::kernels::cuda {
namespace {

using namespace detail;

// Each thread reads x[j] and writes out[j] for the same j, so out may equal x (same type).
template <class In, class Out>
__device__ void normalize_vector(const In* x, std::int64_t dim, const __nv_bfloat16* weight,
                                 float eps, float weight_offset, Out* out) {
  float sum_squares = 0.0f;
  for (std::int64_t j = threadIdx.x; j < dim; j += kThreads) {
    const float v = to_float(x[j]);
    sum_squares += v * v;
  }
  const float inv_rms = rsqrtf(block_sum(sum_squares) / static_cast<float>(dim) + eps);
  for (std::int64_t j = threadIdx.x; j < dim; j += kThreads) {
    const float scale = weight_offset + __bfloat162float(weight[j]);
    out[j] = from_float<Out>(to_float(x[j]) * inv_rms * scale);
  }
}

// One block per (token, group): vector (t, g) starts at x + t * stride + g * dim.
template <class In, class Out>
__global__ void rms_norm_kernel(const In* x, std::int64_t groups, std::int64_t dim,
                                std::int64_t stride, const __nv_bfloat16* weight, float eps,
                                float weight_offset, Out* out, std::int64_t out_stride) {
  const std::int64_t token = blockIdx.x / groups;
  const std::int64_t group = blockIdx.x % groups;
  normalize_vector(x + token * stride + group * dim, dim, weight, eps, weight_offset,
                   out + token * out_stride + group * dim);
}

// The residual stays f32 so it does not lose precision across layers.
template <class In, class Out>
__global__ void add_rms_norm_kernel(float* residual, const In* x, std::int64_t dim,
                                    const __nv_bfloat16* weight, float eps, float weight_offset,
                                    Out* out) {
  const std::int64_t row = blockIdx.x;
  float* res = residual + row * dim;
  for (std::int64_t j = threadIdx.x; j < dim; j += kThreads) res[j] += to_float(x[row * dim + j]);
  __syncthreads();
  normalize_vector(res, dim, weight, eps, weight_offset, out + row * dim);
}

// Rows of at most kPerThread * kThreads values, held in registers: every load (the row, the
// residual and the weight) is issued before the first store. The loops above make dependent
// passes over memory, and a load that follows a store through a pointer that may alias it
// waits for that store: a 4096-wide row then took about 8 µs where one round trip to memory is
// enough. Decode steps run this twice per layer on a handful of rows, so its latency is the
// cost. kAdd: residual += x first, and normalise the sum. One block per (token, group) as in
// rms_norm_kernel; out may equal x (same type).
template <int kPerThread, bool kAdd, class In, class Out>
__global__ void __launch_bounds__(kThreads)
    rms_norm_registers_kernel(float* residual, const In* x, std::int64_t groups,
                              std::int64_t dim, std::int64_t stride,
                              const __nv_bfloat16* weight, float eps, float weight_offset,
                              Out* out, std::int64_t out_stride) {
  const std::int64_t token = blockIdx.x / groups;
  const std::int64_t group = blockIdx.x % groups;
  const In* x_row = x + token * stride + group * dim;
  float* res = kAdd ? residual + token * dim : nullptr;
  let_next_kernel_start();
  float scale[kPerThread];  // the norm's weight: read before the wait (launch_overlapped)
#pragma unroll
  for (int i = 0; i < kPerThread; ++i) {
    const std::int64_t j = threadIdx.x + static_cast<std::int64_t>(i) * kThreads;
    scale[i] = j < dim ? weight_offset + __bfloat162float(weight[j]) : 0.0f;
  }
  wait_for_previous_kernel();
  float values[kPerThread];
  float sum_squares = 0.0f;
#pragma unroll
  for (int i = 0; i < kPerThread; ++i) {
    const std::int64_t j = threadIdx.x + static_cast<std::int64_t>(i) * kThreads;
    values[i] = 0.0f;
    if (j < dim) {
      values[i] = to_float(x_row[j]);
      if constexpr (kAdd) values[i] += res[j];
    }
    sum_squares += values[i] * values[i];
  }
  const float inv_rms = rsqrtf(block_sum(sum_squares) / static_cast<float>(dim) + eps);
  Out* out_row = out + token * out_stride + group * dim;
#pragma unroll
  for (int i = 0; i < kPerThread; ++i) {
    const std::int64_t j = threadIdx.x + static_cast<std::int64_t>(i) * kThreads;
    if (j < dim) {
      if constexpr (kAdd) res[j] = values[i];
      out_row[j] = from_float<Out>(values[i] * inv_rms * scale[i]);
    }
  }
}

// The register kernel for rows of up to 32 * kThreads values; false for longer rows.
template <bool kAdd, class In, class Out>
bool launch_registers(float* residual, const In* x, std::int64_t blocks, std::int64_t groups,
                      std::int64_t dim, std::int64_t stride, const __nv_bfloat16* weight,
                      float eps, float weight_offset, Out* out, std::int64_t out_stride,
                      cudaStream_t stream) {
  const auto launch_registers_kernel = [&](auto kernel) {
    launch_overlapped(kernel, static_cast<unsigned>(blocks), kThreads, 0, stream, residual, x,
                      groups, dim, stride, weight, eps, weight_offset, out, out_stride);
  };
  if (dim <= kThreads) {
    launch_registers_kernel(rms_norm_registers_kernel<1, kAdd, In, Out>);
  } else if (dim <= 4 * kThreads) {
    launch_registers_kernel(rms_norm_registers_kernel<4, kAdd, In, Out>);
  } else if (dim <= 8 * kThreads) {
    launch_registers_kernel(rms_norm_registers_kernel<8, kAdd, In, Out>);
  } else if (dim <= 16 * kThreads) {
    launch_registers_kernel(rms_norm_registers_kernel<16, kAdd, In, Out>);
  } else if (dim <= 32 * kThreads) {
    launch_registers_kernel(rms_norm_registers_kernel<32, kAdd, In, Out>);
  } else {
    return false;
  }
  return true;
}

template <class In, class Out>
void launch_rms_norm(const In* x, std::int64_t tokens, std::int64_t groups, std::int64_t dim,
                     std::int64_t stride, const __nv_bfloat16* weight, float eps,
                     float weight_offset, Out* out, std::int64_t out_stride,
                     cudaStream_t stream) {
  if (tokens * groups == 0) return;
  if (launch_registers<false>(static_cast<float*>(nullptr), x, tokens * groups, groups, dim,
                              stride, weight, eps, weight_offset, out, out_stride, stream)) {
    return;
  }
  rms_norm_kernel<<<static_cast<unsigned>(tokens * groups), kThreads, 0, stream>>>(
      x, groups, dim, stride, weight, eps, weight_offset, out, out_stride);
}

template <class In, class Out>
void launch_add_rms_norm(float* residual, const In* x, std::int64_t rows, std::int64_t dim,
                         const __nv_bfloat16* weight, float eps, float weight_offset, Out* out,
                         cudaStream_t stream) {
  if (rows == 0) return;
  if (launch_registers<true>(residual, x, rows, 1, dim, dim, weight, eps, weight_offset, out, dim,
                             stream)) {
    return;
  }
  add_rms_norm_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(
      residual, x, dim, weight, eps, weight_offset, out);
}

}  // namespace

void rms_norm(const __nv_bfloat16* x, std::int64_t rows, std::int64_t dim,
              const __nv_bfloat16* weight, float eps, __nv_bfloat16* out, cudaStream_t stream) {
  launch_rms_norm(x, rows, 1, dim, dim, weight, eps, 0.0f, out, dim, stream);
}

void add_rms_norm(float* residual, const __nv_bfloat16* x, std::int64_t rows, std::int64_t dim,
                  const __nv_bfloat16* weight, float eps, __nv_bfloat16* out,
                  cudaStream_t stream) {
  launch_add_rms_norm(residual, x, rows, dim, weight, eps, 0.0f, out, stream);
}

void rms_norm_f32(const float* x, std::int64_t tokens, std::int64_t groups, std::int64_t dim,
                  std::int64_t stride, const __nv_bfloat16* weight, float eps,
                  float weight_offset, float* out, std::int64_t out_stride,
                  cudaStream_t stream) {
  launch_rms_norm(x, tokens, groups, dim, stride, weight, eps, weight_offset, out, out_stride,
                  stream);
}

void rms_norm_f32(const float* x, std::int64_t tokens, std::int64_t groups, std::int64_t dim,
                  std::int64_t stride, const __nv_bfloat16* weight, float eps,
                  float weight_offset, __nv_bfloat16* out, std::int64_t out_stride,
                  cudaStream_t stream) {
  launch_rms_norm(x, tokens, groups, dim, stride, weight, eps, weight_offset, out, out_stride,
                  stream);
}

void add_rms_norm_f32(float* residual, const float* x, std::int64_t rows, std::int64_t dim,
                      const __nv_bfloat16* weight, float eps, float weight_offset, float* out,
                      cudaStream_t stream) {
  launch_add_rms_norm(residual, x, rows, dim, weight, eps, weight_offset, out, stream);
}

void add_rms_norm_f32(float* residual, const float* x, std::int64_t rows, std::int64_t dim,
                      const __nv_bfloat16* weight, float eps, float weight_offset,
                      __nv_bfloat16* out, cudaStream_t stream) {
  launch_add_rms_norm(residual, x, rows, dim, weight, eps, weight_offset, out, stream);
}

}  // namespace tessera::kernels::cuda
