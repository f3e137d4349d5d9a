// Kernels for f32 activations with bf16 weights (see kernels.hpp): the CUDA backend's layout.
#include <cmath>

#include "kernels/cuda/kernels.hpp"

namespace tessera::kernels::cuda {
namespace {

constexpr int kThreads = 256;

unsigned grid_for(std::int64_t count) {
  const std::int64_t blocks = (count + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 65536 ? blocks : 65536);  // grid-stride loops cover the rest
}

__device__ std::int64_t global_index() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

__device__ std::int64_t global_stride() {
  return static_cast<std::int64_t>(gridDim.x) * blockDim.x;
}

// Sum over a block of kThreads; every thread gets the result.
__device__ float block_sum(float value) {
  __shared__ float warp_sums[kThreads / 32];
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  const int warp = threadIdx.x / 32;
  if (threadIdx.x % 32 == 0) warp_sums[warp] = value;
  __syncthreads();
  float total = 0.0f;
  for (int w = 0; w < kThreads / 32; ++w) total += warp_sums[w];
  __syncthreads();
  return total;
}

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

__global__ void embedding_kernel(const __nv_bfloat16* table, std::int64_t dim,
                                 const std::int32_t* ids, float* out) {
  const std::int64_t row = blockIdx.x;
  const __nv_bfloat16* src = table + static_cast<std::int64_t>(ids[row]) * dim;
  for (std::int64_t j = threadIdx.x; j < dim; j += blockDim.x) {
    out[row * dim + j] = __bfloat162float(src[j]);
  }
}

// Each thread reads x[j] and writes out[j] for the same j, so out may equal x.
__device__ void normalize_vector(const float* x, std::int64_t dim, const __nv_bfloat16* weight,
                                 float eps, float* out) {
  float sum_squares = 0.0f;
  for (std::int64_t j = threadIdx.x; j < dim; j += kThreads) sum_squares += x[j] * x[j];
  const float inv_rms = rsqrtf(block_sum(sum_squares) / static_cast<float>(dim) + eps);
  for (std::int64_t j = threadIdx.x; j < dim; j += kThreads) {
    out[j] = x[j] * inv_rms * __bfloat162float(weight[j]);
  }
}

__global__ void rms_norm_kernel(const float* x, std::int64_t groups, std::int64_t dim,
                                std::int64_t stride, const __nv_bfloat16* weight, float eps,
                                float* out, std::int64_t out_stride) {
  const std::int64_t token = blockIdx.x / groups;
  const std::int64_t group = blockIdx.x % groups;
  normalize_vector(x + token * stride + group * dim, dim, weight, eps,
                   out + token * out_stride + group * dim);
}

__global__ void add_rms_norm_kernel(float* residual, const float* x, std::int64_t dim,
                                    const __nv_bfloat16* weight, float eps, float* out) {
  const std::int64_t row = blockIdx.x;
  float* res = residual + row * dim;
  for (std::int64_t j = threadIdx.x; j < dim; j += kThreads) res[j] += x[row * dim + j];
  __syncthreads();
  normalize_vector(res, dim, weight, eps, out + row * dim);
}

__global__ void silu_mul_kernel(const float* gate_up, std::int64_t rows, std::int64_t width,
                                float* out) {
  const std::int64_t count = rows * width;
  for (std::int64_t i = global_index(); i < count; i += global_stride()) {
    const std::int64_t r = i / width;
    const std::int64_t j = i % width;
    const float gate = gate_up[r * 2 * width + j];
    const float up = gate_up[r * 2 * width + width + j];
    out[i] = gate / (1.0f + expf(-gate)) * up;
  }
}

__global__ void add_kernel(float* acc, const float* x, std::int64_t count) {
  for (std::int64_t i = global_index(); i < count; i += global_stride()) acc[i] += x[i];
}

__global__ void rope_kernel(float* x, std::int64_t stride, std::int64_t heads,
                            std::int64_t head_dim, const std::int32_t* positions,
                            const float* inv_freq) {
  const std::int64_t token = blockIdx.x;
  const std::int64_t half = head_dim / 2;
  const float position = static_cast<float>(positions[token]);
  float* row = x + token * stride;
  for (std::int64_t i = threadIdx.x; i < heads * half; i += blockDim.x) {
    const std::int64_t h = i / half;
    const std::int64_t j = i % half;
    // The angle is formed in f32 as the reference does; its cos/sin in double, then rounded
    // (as the CPU kernel does).
    const float angle = position * inv_freq[j];
    double sin_value, cos_value;
    sincos(static_cast<double>(angle), &sin_value, &cos_value);
    const float c = static_cast<float>(cos_value);
    const float s = static_cast<float>(sin_value);
    float* head = row + h * head_dim;
    const float a = head[j];
    const float b = head[j + half];
    head[j] = a * c - b * s;
    head[j + half] = b * c + a * s;
  }
}

__global__ void gather_rows_kernel(const float* x, std::int64_t cols, const std::int64_t* rows,
                                   float* out) {
  const std::int64_t i = blockIdx.x;
  const float* src = x + rows[i] * cols;
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

void embedding_lookup_f32(const __nv_bfloat16* table, std::int64_t dim, const std::int32_t* ids,
                          std::int64_t count, float* out, cudaStream_t stream) {
  if (count == 0) return;
  embedding_kernel<<<static_cast<unsigned>(count), kThreads, 0, stream>>>(table, dim, ids, out);
}

void rms_norm_f32(const float* x, std::int64_t tokens, std::int64_t groups, std::int64_t dim,
                  std::int64_t stride, const __nv_bfloat16* weight, float eps, float* out,
                  std::int64_t out_stride, cudaStream_t stream) {
  if (tokens * groups == 0) return;
  rms_norm_kernel<<<static_cast<unsigned>(tokens * groups), kThreads, 0, stream>>>(
      x, groups, dim, stride, weight, eps, out, out_stride);
}

void add_rms_norm_f32(float* residual, const float* x, std::int64_t rows, std::int64_t dim,
                      const __nv_bfloat16* weight, float eps, float* out, cudaStream_t stream) {
  if (rows == 0) return;
  add_rms_norm_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(residual, x, dim,
                                                                            weight, eps, out);
}

void silu_mul_f32(const float* gate_up, std::int64_t rows, std::int64_t width, float* out,
                  cudaStream_t stream) {
  if (rows * width == 0) return;
  silu_mul_kernel<<<grid_for(rows * width), kThreads, 0, stream>>>(gate_up, rows, width, out);
}

void add_inplace_f32(float* acc, const float* x, std::int64_t count, cudaStream_t stream) {
  if (count == 0) return;
  add_kernel<<<grid_for(count), kThreads, 0, stream>>>(acc, x, count);
}

void rope_rotate_half_f32(float* x, std::int64_t tokens, std::int64_t stride, std::int64_t heads,
                          std::int64_t head_dim, const std::int32_t* positions,
                          const float* inv_freq, cudaStream_t stream) {
  if (tokens == 0) return;
  rope_kernel<<<static_cast<unsigned>(tokens), 128, 0, stream>>>(x, stride, heads, head_dim,
                                                                positions, inv_freq);
}

void gather_rows_f32(const float* x, std::int64_t cols, const std::int64_t* rows,
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
