#include "kernels/cuda/kernels.hpp"

namespace tessera::kernels::cuda {
namespace {

__global__ void embedding_kernel(const __nv_bfloat16* table, std::int64_t dim,
                                 const std::int32_t* ids, __nv_bfloat16* out) {
  const std::int64_t row = blockIdx.x;
  const __nv_bfloat16* src = table + static_cast<std::int64_t>(ids[row]) * dim;
  for (std::int64_t j = threadIdx.x; j < dim; j += blockDim.x) out[row * dim + j] = src[j];
}

}  // namespace

void embedding_lookup(const __nv_bfloat16* table, std::int64_t dim, const std::int32_t* ids,
                      std::int64_t count, __nv_bfloat16* out, cudaStream_t stream) {
  if (count == 0) return;
  embedding_kernel<<<static_cast<unsigned>(count), 256, 0, stream>>>(table, dim, ids, out);
}

}  // namespace tessera::kernels::cuda
