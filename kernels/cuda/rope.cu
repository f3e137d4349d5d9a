#include "kernels/cuda/kernels.hpp"

namespace tessera::kernels::cuda {
namespace {

// One block per token; threads walk the (head, pair) grid of that token.
__global__ void rope_kernel(__nv_bfloat16* x, std::int64_t stride, std::int64_t heads,
                            std::int64_t head_dim, const std::int32_t* positions,
                            const float* inv_freq) {
  const std::int64_t token = blockIdx.x;
  const std::int64_t half = head_dim / 2;
  const float position = static_cast<float>(positions[token]);
  __nv_bfloat16* row = x + token * stride;
  for (std::int64_t i = threadIdx.x; i < heads * half; i += blockDim.x) {
    const std::int64_t h = i / half;
    const std::int64_t j = i % half;
    float sin_value, cos_value;
    sincosf(position * inv_freq[j], &sin_value, &cos_value);
    __nv_bfloat16* head = row + h * head_dim;
    const float a = __bfloat162float(head[j]);
    const float b = __bfloat162float(head[j + half]);
    head[j] = __float2bfloat16(a * cos_value - b * sin_value);
    head[j + half] = __float2bfloat16(b * cos_value + a * sin_value);
  }
}

}  // namespace

void rope_rotate_half(__nv_bfloat16* x, std::int64_t tokens, std::int64_t stride,
                      std::int64_t heads, std::int64_t head_dim, const std::int32_t* positions,
                      const float* inv_freq, cudaStream_t stream) {
  if (tokens == 0) return;
  rope_kernel<<<static_cast<unsigned>(tokens), 128, 0, stream>>>(x, stride, heads, head_dim,
                                                                positions, inv_freq);
}

}  // namespace tessera::kernels::cuda
