// Embedding lookup from a bf16 table into f32 or bf16 activations.
#include "kernels/cuda/element.cuh"
#include "kernels/cuda/kernels.hpp"

namespace tessera::kernels::cuda {
namespace {

using namespace detail;

template <class T>
__global__ void embedding_kernel(const __nv_bfloat16* table, std::int64_t dim,
                                 const std::int32_t* ids, T* out) {
  const std::int64_t row = blockIdx.x;
  const __nv_bfloat16* src = table + static_cast<std::int64_t>(ids[row]) * dim;
  for (std::int64_t j = threadIdx.x; j < dim; j += blockDim.x) {
    out[row * dim + j] = from_float<T>(__bfloat162float(src[j]));  // exact for both types
  }
}

template <class T>
void launch_embedding(const __nv_bfloat16* table, std::int64_t dim, const std::int32_t* ids,
                      std::int64_t count, T* out, cudaStream_t stream) {
  if (count == 0) return;
  embedding_kernel<<<static_cast<unsigned>(count), kThreads, 0, stream>>>(table, dim, ids, out);
}

}  // namespace

void embedding_lookup(const __nv_bfloat16* table, std::int64_t dim, const std::int32_t* ids,
                      std::int64_t count, __nv_bfloat16* out, cudaStream_t stream) {
  launch_embedding(table, dim, ids, count, out, stream);
}

void embedding_lookup_f32(const __nv_bfloat16* table, std::int64_t dim, const std::int32_t* ids,
                          std::int64_t count, float* out, cudaStream_t stream) {
  launch_embedding(table, dim, ids, count, out, stream);
}

}  // namespace tessera::kernels::cuda
