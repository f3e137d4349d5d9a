// Paged attention over f32 keys and values (see kernels.hpp). Correctness first: one block per
// (query token, head); each warp runs an online softmax over every kWarps-th allowed position,
// and the warps' partial results are merged at the end.
#include <cmath>

#include "kernels/cuda/kernels.hpp"

namespace tessera::kernels::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;

__global__ void store_kv_kernel(const float* k_src, const float* v_src, std::int64_t stride,
                                const std::int64_t* slots, PagedKvLayer kv) {
  const std::int64_t t = blockIdx.x;
  const std::int64_t width = kv.kv_heads * kv.head_dim;
  const std::int64_t offset = slots[t] * width;
  for (std::int64_t i = threadIdx.x; i < width; i += blockDim.x) {
    kv.k[offset + i] = k_src[t * stride + i];
    kv.v[offset + i] = v_src[t * stride + i];
  }
}

// Dynamic shared memory: query [head_dim], then per-warp accumulators [kWarps][head_dim].
__global__ void paged_attention_kernel(const float* q, std::int64_t q_stride,
                                       const std::int32_t* positions,
                                       const std::int32_t* token_sequence,
                                       const std::int32_t* table_offsets,
                                       const std::int32_t* block_tables, std::int64_t heads,
                                       PagedKvLayer kv, std::int64_t window, float scale,
                                       float* out, std::int64_t out_stride) {
  extern __shared__ float shared[];
  __shared__ float warp_max[kWarps];
  __shared__ float warp_total[kWarps];
  const std::int64_t dim = kv.head_dim;
  const std::int64_t t = blockIdx.x;
  const std::int64_t h = blockIdx.y;
  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  float* query = shared;
  float* acc = shared + dim + warp * dim;

  const float* q_row = q + t * q_stride + h * dim;
  for (std::int64_t j = threadIdx.x; j < dim; j += kThreads) query[j] = q_row[j];
  for (std::int64_t j = lane; j < dim; j += 32) acc[j] = 0.0f;
  __syncthreads();

  const std::int64_t group = heads / kv.kv_heads;
  const std::int64_t kv_offset = (h / group) * dim;
  const std::int64_t slot_width = kv.kv_heads * dim;
  const std::int32_t* table = block_tables + table_offsets[token_sequence[t]];
  const std::int64_t last = positions[t];
  std::int64_t first = 0;
  if (window > 0 && last - window + 1 > 0) first = last - window + 1;

  float running_max = -INFINITY;
  float running_total = 0.0f;
  for (std::int64_t p = first + warp; p <= last; p += kWarps) {
    const std::int64_t slot =
        static_cast<std::int64_t>(table[p / kv.block_size]) * kv.block_size + p % kv.block_size;
    const float* key = kv.k + slot * slot_width + kv_offset;
    const float* value = kv.v + slot * slot_width + kv_offset;
    float dot = 0.0f;
    for (std::int64_t j = lane; j < dim; j += 32) dot += query[j] * key[j];
    for (int offset = 16; offset > 0; offset /= 2) dot += __shfl_xor_sync(0xffffffffu, dot, offset);
    const float score = dot * scale;
    const float new_max = fmaxf(running_max, score);
    const float correction = expf(running_max - new_max);  // 0 on the first position
    const float weight = expf(score - new_max);
    running_total = running_total * correction + weight;
    // Each lane owns the accumulator entries j = lane, lane + 32, …: no other thread touches them.
    for (std::int64_t j = lane; j < dim; j += 32) acc[j] = acc[j] * correction + weight * value[j];
    running_max = new_max;
  }
  if (lane == 0) {
    warp_max[warp] = running_max;
    warp_total[warp] = running_total;
  }
  __syncthreads();

  float global_max = -INFINITY;
  for (int w = 0; w < kWarps; ++w) global_max = fmaxf(global_max, warp_max[w]);
  float scales[kWarps];
  float total = 0.0f;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) {
    // A warp that saw no position has max -inf and total 0: it contributes nothing.
    scales[w] = warp_max[w] == -INFINITY ? 0.0f : expf(warp_max[w] - global_max);
    total += scales[w] * warp_total[w];
  }
  float* o = out + t * out_stride + h * dim;
  for (std::int64_t j = threadIdx.x; j < dim; j += kThreads) {
    float sum = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) sum += scales[w] * shared[dim + w * dim + j];
    o[j] = sum / total;
  }
}

}  // namespace

void store_kv_f32(const float* k_src, const float* v_src, std::int64_t tokens, std::int64_t stride,
                  const std::int64_t* slots, const PagedKvLayer& kv, cudaStream_t stream) {
  if (tokens == 0) return;
  store_kv_kernel<<<static_cast<unsigned>(tokens), 128, 0, stream>>>(k_src, v_src, stride, slots,
                                                                    kv);
}

void paged_attention_f32(const float* q, std::int64_t tokens, std::int64_t q_stride,
                         const std::int32_t* positions, const std::int32_t* token_sequence,
                         const std::int32_t* table_offsets, const std::int32_t* block_tables,
                         std::int64_t heads, const PagedKvLayer& kv, std::int64_t window,
                         float scale, float* out, std::int64_t out_stride, cudaStream_t stream) {
  if (tokens == 0 || heads == 0) return;
  const dim3 grid(static_cast<unsigned>(tokens), static_cast<unsigned>(heads));
  const std::size_t shared_bytes =
      static_cast<std::size_t>((1 + kWarps) * kv.head_dim) * sizeof(float);
  paged_attention_kernel<<<grid, kThreads, shared_bytes, stream>>>(
      q, q_stride, positions, token_sequence, table_offsets, block_tables, heads, kv, window,
      scale, out, out_stride);
}

}  // namespace tessera::kernels::cuda
