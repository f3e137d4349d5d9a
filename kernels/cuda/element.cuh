#pragma once
// What the CUDA kernels share: conversions between a storage type (f32 or bf16) and the f32 all
// math is done in (one element or a pair), the loads of products with bf16 weights (gemv.cu,
// experts.cu), the block size, and a block-wide sum.
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

// An activation as a product with bf16 weights uses it: rounded to bf16 (nearest even), so an
// f32 activation gives what the bf16 one it would be stored as gives.
__device__ inline float product_input(float v) { return __bfloat162float(__float2bfloat16_rn(v)); }
__device__ inline float product_input(__nv_bfloat16 v) { return __bfloat162float(v); }

// Eight bf16 values of one 16-byte load, in f32.
__device__ inline void unpack8(const uint4& packed, float (&out)[8]) {
  const auto* pairs = reinterpret_cast<const __nv_bfloat162*>(&packed);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 f = __bfloat1622float2(pairs[i]);
    out[2 * i] = f.x;
    out[2 * i + 1] = f.y;
  }
}

// Activations x[0, 8) (16-byte aligned) as the product uses them: two 16-byte loads of f32,
// rounded, or one of bf16.
__device__ inline void load8(const float* x, float (&out)[8]) {
  const auto* x4 = reinterpret_cast<const float4*>(x);
  const float4 lo = __ldg(x4);
  const float4 hi = __ldg(x4 + 1);
  const float v[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
#pragma unroll
  for (int i = 0; i < 8; ++i) out[i] = product_input(v[i]);
}

__device__ inline void load8(const __nv_bfloat16* x, float (&out)[8]) {
  unpack8(__ldg(reinterpret_cast<const uint4*>(x)), out);
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
