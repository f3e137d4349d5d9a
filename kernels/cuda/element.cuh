#pragma once
// What the CUDA kernels share: conversions between a storage type (f32 or bf16) and the f32 all
// math is done in (one element or a pair), the block size, and a block-wide sum.
#include <cuda_bf16.h>

#include <cstdint>
#include <cstring>

namespace tessera::kernels::cuda::detail {

constexpr int kThreads = 256;

__device__ inline float to_float(float v) { return v; }
__device__ inline float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class T>
__device__ inline T from_float(float v);
template <>
__device__ inline float from_float<float>(float v) { return v; }
template <>
__device__ inline __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16(v); }

// Two f32 values rounded to bf16 and packed in one word, as two consecutive bf16 in memory.
__device__ inline std::uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 pair = __floats2bfloat162_rn(lo, hi);  // .x (lo) in the low half
  std::uint32_t bits;
  memcpy(&bits, &pair, sizeof bits);
  return bits;
}

// Two consecutive elements, as f32.
__device__ inline float2 load2(const float* p) { return *reinterpret_cast<const float2*>(p); }
__device__ inline float2 load2(const __nv_bfloat16* p) {
  return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(p));
}

// Two consecutive outputs, in one store where p is aligned for it.
__device__ inline float2 make_pair(float* /*out*/, float lo, float hi) { return {lo, hi}; }
__device__ inline __nv_bfloat162 make_pair(__nv_bfloat16* /*out*/, float lo, float hi) {
  return __floats2bfloat162_rn(lo, hi);
}
template <class OutT>
__device__ inline void store_pair(OutT* p, float lo, float hi, bool aligned) {
  auto pair = make_pair(p, lo, hi);  // float2 or __nv_bfloat162
  if (aligned) {
    *reinterpret_cast<decltype(pair)*>(p) = pair;
  } else {
    p[0] = pair.x;
    p[1] = pair.y;
  }
}

// Sum over a block of kThreads threads; every thread gets the result.
__device__ inline float block_sum(float value) {
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

__device__ inline std::int64_t global_index() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

__device__ inline std::int64_t global_stride() {
  return static_cast<std::int64_t>(gridDim.x) * blockDim.x;
}

// Blocks for a grid-stride loop over `count` elements.
inline unsigned grid_for(std::int64_t count) {
  const std::int64_t blocks = (count + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
}

}  // namespace tessera::kernels::cuda::detail
