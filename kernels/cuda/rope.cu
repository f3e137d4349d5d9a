// Rotary embedding in the "rotate half" layout, in place, for f32 and bf16 activations.
#include <type_traits>

#include "kernels/cuda/element.cuh"
#include "kernels/cuda/kernels.hpp"
#include "kernels/cuda/overlap.cuh"

namespace tessera::kernels::cuda {
namespace {

using namespace detail;

constexpr int kRopeThreads = 256;
constexpr std::int64_t kMaxHalf = kRopeMaxHeadDim / 2;

// The rotated pair (a, b) by the angle with cosine c and sine s. Rounded after each product, as
// the CPU backend computes it: left to itself the compiler fuses a multiply into the subtraction
// in one kernel and not in another, and the two rope kernels would disagree in the last bit.
__device__ inline float2 rotate_pair(float a, float b, float c, float s) {
  return {__fsub_rn(__fmul_rn(a, c), __fmul_rn(b, s)), __fadd_rn(__fmul_rn(b, c), __fmul_rn(a, s))};
}

// The cosine and sine of every pair's angle at this position, filled by the whole block. The
// angle of pair j is the same for every head, so each is computed once per token, into shared
// memory: in double (sincos on the large angles of long positions loses ulps in f32, and the CPU
// kernel rounds the double result the same way), which is too slow to repeat for every head.
__device__ inline void fill_angle_tables(std::int32_t position, const float* inv_freq,
                                         std::int64_t half, float* cos_table, float* sin_table) {
  for (std::int64_t j = threadIdx.x; j < half; j += blockDim.x) {
    // The angle is formed in f32 as the reference does.
    const float angle = static_cast<float>(position) * inv_freq[j];
    double sin_value, cos_value;
    sincos(static_cast<double>(angle), &sin_value, &cos_value);
    cos_table[j] = static_cast<float>(cos_value);
    sin_table[j] = static_cast<float>(sin_value);
  }
  __syncthreads();
}

// One block per token; threads walk the (head, pair) grid of that token.
template <class T>
__global__ void __launch_bounds__(kRopeThreads)
    rope_kernel(T* x, std::int64_t stride, std::int64_t heads, std::int64_t head_dim,
                const std::int32_t* positions, const float* inv_freq) {
  __shared__ float cos_table[kMaxHalf];
  __shared__ float sin_table[kMaxHalf];
  const std::int64_t token = blockIdx.x;
  const std::int64_t half = head_dim / 2;
  fill_angle_tables(positions[token], inv_freq, half, cos_table, sin_table);
  T* row = x + token * stride;
  for (std::int64_t i = threadIdx.x; i < heads * half; i += blockDim.x) {
    const std::int64_t h = i / half;
    const std::int64_t j = i % half;
    const float c = cos_table[j];
    const float s = sin_table[j];
    T* head = row + h * head_dim;
    const float2 rotated = rotate_pair(to_float(head[j]), to_float(head[j + half]), c, s);
    head[j] = from_float<T>(rotated.x);
    head[j + half] = from_float<T>(rotated.y);
  }
}

// Rotary embedding fused with the KV cache store, for a step's f32 qkv rows: the query heads
// and key heads are rotated in place, and the rotated keys and the values are written to each
// token's cache slot, rounded to the cache's type. One launch where rope and store_kv took two,
// each of which spent most of its time waiting on memory one element after another. Each block
// takes one token's run of whole heads (query, key, then value heads), one pair per thread, so
// every thread issues its loads at once.
template <class KvT>
__global__ void __launch_bounds__(kRopeThreads)
    rope_store_kv_kernel(float* qkv, std::int64_t stride, std::int64_t heads,
                         std::int64_t kv_heads, std::int64_t head_dim,
                         std::int64_t heads_per_block, const std::int32_t* positions,
                         const float* inv_freq, const std::int32_t* slots, KvT* k_cache,
                         KvT* v_cache) {
  __shared__ float cos_table[kMaxHalf];
  __shared__ float sin_table[kMaxHalf];
  const std::int64_t token = blockIdx.x;
  const std::int64_t half = head_dim / 2;
  let_next_kernel_start();
  // The angles come from the step's positions, copied in before any of its kernels ran, so they
  // can be formed while the previous kernel finishes (launch_overlapped).
  fill_angle_tables(positions[token], inv_freq, half, cos_table, sin_table);
  wait_for_previous_kernel();
  const std::int64_t local_head = threadIdx.x / half;
  const std::int64_t head = blockIdx.y * heads_per_block + local_head;
  const std::int64_t j = threadIdx.x % half;
  if (local_head >= heads_per_block || head >= heads + 2 * kv_heads) return;
  float* row = qkv + token * stride;
  const std::int64_t cache_row = static_cast<std::int64_t>(slots[token]) * kv_heads * head_dim;
  if (head >= heads + kv_heads) {  // a value head: stored as it is
    const std::int64_t v_head = head - heads - kv_heads;
    const float a = row[head * head_dim + j];
    const float b = row[head * head_dim + j + half];
    v_cache[cache_row + v_head * head_dim + j] = from_float<KvT>(a);
    v_cache[cache_row + v_head * head_dim + j + half] = from_float<KvT>(b);
    return;
  }
  float* x = row + head * head_dim;
  const float2 rotated = rotate_pair(x[j], x[j + half], cos_table[j], sin_table[j]);
  x[j] = rotated.x;
  x[j + half] = rotated.y;
  if (head >= heads) {  // a key head: also to the cache
    const std::int64_t k_head = head - heads;
    k_cache[cache_row + k_head * head_dim + j] = from_float<KvT>(rotated.x);
    k_cache[cache_row + k_head * head_dim + j + half] = from_float<KvT>(rotated.y);
  }
}

template <class T>
void launch_rope(T* x, std::int64_t tokens, std::int64_t stride, std::int64_t heads,
                 std::int64_t head_dim, const std::int32_t* positions, const float* inv_freq,
                 cudaStream_t stream) {
  if (tokens == 0) return;
  rope_kernel<<<static_cast<unsigned>(tokens), kRopeThreads, 0, stream>>>(
      x, stride, heads, head_dim, positions, inv_freq);
}

}  // namespace

void rope_rotate_half(__nv_bfloat16* x, std::int64_t tokens, std::int64_t stride,
                      std::int64_t heads, std::int64_t head_dim, const std::int32_t* positions,
                      const float* inv_freq, cudaStream_t stream) {
  launch_rope(x, tokens, stride, heads, head_dim, positions, inv_freq, stream);
}

void rope_rotate_half_f32(float* x, std::int64_t tokens, std::int64_t stride, std::int64_t heads,
                          std::int64_t head_dim, const std::int32_t* positions,
                          const float* inv_freq, cudaStream_t stream) {
  launch_rope(x, tokens, stride, heads, head_dim, positions, inv_freq, stream);
}

void rope_store_kv_f32(float* qkv, std::int64_t tokens, std::int64_t stride, std::int64_t heads,
                       std::int64_t head_dim, const std::int32_t* positions,
                       const float* inv_freq, const std::int32_t* slots, const PagedKvCache& kv,
                       cudaStream_t stream) {
  if (tokens == 0) return;
  const std::int64_t half = head_dim / 2;
  const std::int64_t heads_per_block = kRopeThreads / half;  // half <= kMaxHalf = kRopeThreads
  const std::int64_t all_heads = heads + 2 * kv.kv_heads;
  const dim3 grid(static_cast<unsigned>(tokens),
                  static_cast<unsigned>((all_heads + heads_per_block - 1) / heads_per_block));
  const auto launch = [&](auto* k_cache, auto* v_cache) {
    launch_overlapped(rope_store_kv_kernel<std::remove_pointer_t<decltype(k_cache)>>, grid,
                      kRopeThreads, 0, stream, qkv, stride, heads, kv.kv_heads, head_dim,
                      heads_per_block, positions, inv_freq, slots, k_cache, v_cache);
  };
  if (kv.storage == KvStorage::bf16) {
    launch(static_cast<__nv_bfloat16*>(kv.k), static_cast<__nv_bfloat16*>(kv.v));
  } else {
    launch(static_cast<float*>(kv.k), static_cast<float*>(kv.v));
  }
}

}  // namespace tessera::kernels::cuda
