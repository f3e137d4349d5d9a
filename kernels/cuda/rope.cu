// Rotary embedding in the "rotate half" layout, in place, for f32 and bf16 activations.
#include "kernels/cuda/element.cuh"
#include "kernels/cuda/kernels.hpp"

namespace tessera::kernels::cuda {
namespace {

using namespace detail;

constexpr int kRopeThreads = 256;
constexpr std::int64_t kMaxHalf = kRopeMaxHeadDim / 2;

// One block per token; threads walk the (head, pair) grid of that token. The angle of pair j is
// the same for every head, so each is computed once per token, into shared memory: in double
// (sincos on the large angles of long positions loses ulps in f32, and the CPU kernel rounds
// the double result the same way), which is too slow to repeat for every head.
template <class T>
__global__ void __launch_bounds__(kRopeThreads)
    rope_kernel(T* x, std::int64_t stride, std::int64_t heads, std::int64_t head_dim,
                const std::int32_t* positions, const float* inv_freq) {
  __shared__ float cos_table[kMaxHalf];
  __shared__ float sin_table[kMaxHalf];
  const std::int64_t token = blockIdx.x;
  const std::int64_t half = head_dim / 2;
  const float position = static_cast<float>(positions[token]);
  for (std::int64_t j = threadIdx.x; j < half; j += blockDim.x) {
    // The angle is formed in f32 as the reference does.
    const float angle = position * inv_freq[j];
    double sin_value, cos_value;
    sincos(static_cast<double>(angle), &sin_value, &cos_value);
    cos_table[j] = static_cast<float>(cos_value);
    sin_table[j] = static_cast<float>(sin_value);
  }
  __syncthreads();
  T* row = x + token * stride;
  for (std::int64_t i = threadIdx.x; i < heads * half; i += blockDim.x) {
    const std::int64_t h = i / half;
    const std::int64_t j = i % half;
    const float c = cos_table[j];
    const float s = sin_table[j];
    T* head = row + h * head_dim;
    const float a = to_float(head[j]);
    const float b = to_float(head[j + half]);
    head[j] = from_float<T>(a * c - b * s);
    head[j + half] = from_float<T>(b * c + a * s);
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

}  // namespace tessera::kernels::cuda
