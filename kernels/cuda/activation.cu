#include "kernels/cuda/kernels.hpp"

namespace tessera::kernels::cuda {
namespace {

__global__ void silu_mul_kernel(const __nv_bfloat16* gate_up, std::int64_t rows,
                                std::int64_t width, __nv_bfloat16* out) {
  const std::int64_t total = rows * width;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
       i < total; i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t r = i / width;
    const std::int64_t j = i % width;
    const float g = __bfloat162float(gate_up[r * 2 * width + j]);
    const float u = __bfloat162float(gate_up[r * 2 * width + width + j]);
    out[i] = __float2bfloat16(g / (1.0f + __expf(-g)) * u);
  }
}

}  // namespace

void silu_mul(const __nv_bfloat16* gate_up, std::int64_t rows, std::int64_t width,
              __nv_bfloat16* out, cudaStream_t stream) {
  const std::int64_t total = rows * width;
  if (total == 0) return;
  const auto blocks = static_cast<unsigned>(std::min<std::int64_t>((total + 255) / 256, 65535));
  silu_mul_kernel<<<blocks, 256, 0, stream>>>(gate_up, rows, width, out);
}

}  // namespace tessera::kernels::cuda
