// The CUDA backend's glue kernels around its f32 activations and bf16 weights: conversion for
// the GEMM inputs, bias rows, gathering rows, and argmax.
#include <cmath>

#include "kernels/cuda/element.cuh"
#include "kernels/cuda/kernels.hpp"

namespace tessera::kernels::cuda {
namespace {

using namespace detail;

__global__ void f32_to_bf16_kernel(const float* x, std::int64_t count, __nv_bfloat16* out) {
  for (std::int64_t i = global_index(); i < count; i += global_stride()) {
    out[i] = __float2bfloat16_rn(x[i]);
  }
}

__global__ void add_bias_kernel(float* out, std::int64_t count, std::int64_t cols,
                                const __nv_bfloat16* bias) {
  for (std::int64_t i = global_index(); i < count; i += global_stride()) {
    out[i] += __bfloat162float(bias[i % cols]);
  }
}

__global__ void gather_rows_kernel(const float* x, std::int64_t cols, const std::int32_t* rows,
                                   float* out) {
  const std::int64_t i = blockIdx.x;
  const float* src = x + static_cast<std::int64_t>(rows[i]) * cols;
  for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) out[i * cols + j] = src[j];
}

__global__ void argmax_kernel(const float* x, std::int64_t cols, std::int32_t* out) {
  __shared__ float best_values[kThreads];
  __shared__ std::int64_t best_indices[kThreads];
  const float* row = x + static_cast<std::int64_t>(blockIdx.x) * cols;
  float best = -INFINITY;
  std::int64_t best_index = -1;
  for (std::int64_t j = threadIdx.x; j < cols; j += kThreads) {
    const float v = row[j];
    if (best_index < 0 || v > best) {  // ascending j per thread: strict > keeps the first
      best = v;
      best_index = j;
    }
  }
  best_values[threadIdx.x] = best;
  best_indices[threadIdx.x] = best_index;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) {
      const float other = best_values[threadIdx.x + half];
      const std::int64_t other_index = best_indices[threadIdx.x + half];
      const std::int64_t mine = best_indices[threadIdx.x];
      const bool take = other_index >= 0 &&
                        (mine < 0 || other > best_values[threadIdx.x] ||
                         (other == best_values[threadIdx.x] && other_index < mine));
      if (take) {
        best_values[threadIdx.x] = other;
        best_indices[threadIdx.x] = other_index;
      }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    out[blockIdx.x] = static_cast<std::int32_t>(best_indices[0] < 0 ? 0 : best_indices[0]);
  }
}

}  // namespace

void f32_to_bf16(const float* x, std::int64_t count, __nv_bfloat16* out, cudaStream_t stream) {
  if (count == 0) return;
  f32_to_bf16_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, count, out);
}

void add_bias_rows(float* out, std::int64_t rows, std::int64_t cols, const __nv_bfloat16* bias,
                   cudaStream_t stream) {
  const std::int64_t count = rows * cols;
  if (count == 0) return;
  add_bias_kernel<<<grid_for(count), kThreads, 0, stream>>>(out, count, cols, bias);
}

void gather_rows_f32(const float* x, std::int64_t cols, const std::int32_t* rows,
                     std::int64_t count, float* out, cudaStream_t stream) {
  if (count == 0) return;
  gather_rows_kernel<<<static_cast<unsigned>(count), kThreads, 0, stream>>>(x, cols, rows, out);
}

void argmax_rows_f32(const float* x, std::int64_t rows, std::int64_t cols, std::int32_t* out,
                     cudaStream_t stream) {
  if (rows == 0) return;
  argmax_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(x, cols, out);
}

}  // namespace tessera::kernels::cuda
