// The SiLU-gated MLP's middle for f32 and bf16 activations (and f32 in, bf16 out: the result
// only feeds the down projection), and the residual add.
#include "kernels/cuda/element.cuh"
#include "kernels/cuda/kernels.hpp"
#include "kernels/cuda/overlap.cuh"

namespace tessera::kernels::cuda {
namespace {

using namespace detail;

template <class In, class Out>
__global__ void silu_mul_kernel(const In* gate_up, std::int64_t rows, std::int64_t width,
                                Out* out) {
  let_next_kernel_start();
  wait_for_previous_kernel();
  const std::int64_t count = rows * width;
  for (std::int64_t i = global_index(); i < count; i += global_stride()) {
    const std::int64_t r = i / width;
    const std::int64_t j = i % width;
    const float gate = to_float(gate_up[r * 2 * width + j]);
    const float up = to_float(gate_up[r * 2 * width + width + j]);
    out[i] = from_float<Out>(gate / (1.0f + expf(-gate)) * up);
  }
}

template <class In, class Out>
void launch_silu_mul(const In* gate_up, std::int64_t rows, std::int64_t width, Out* out,
                     cudaStream_t stream) {
  if (rows * width == 0) return;
  launch_overlapped(silu_mul_kernel<In, Out>, grid_for(rows * width), kThreads, 0, stream,
                    gate_up, rows, width, out);
}

__global__ void add_kernel(float* acc, const float* x, std::int64_t count) {
  for (std::int64_t i = global_index(); i < count; i += global_stride()) acc[i] += x[i];
}

}  // namespace

void silu_mul(const __nv_bfloat16* gate_up, std::int64_t rows, std::int64_t width,
              __nv_bfloat16* out, cudaStream_t stream) {
  launch_silu_mul(gate_up, rows, width, out, stream);
}

void silu_mul_f32(const float* gate_up, std::int64_t rows, std::int64_t width, float* out,
                  cudaStream_t stream) {
  launch_silu_mul(gate_up, rows, width, out, stream);
}

void silu_mul_f32(const float* gate_up, std::int64_t rows, std::int64_t width,
                  __nv_bfloat16* out, cudaStream_t stream) {
  launch_silu_mul(gate_up, rows, width, out, stream);
}

void add_inplace_f32(float* acc, const float* x, std::int64_t count, cudaStream_t stream) {
  if (count == 0) return;
  add_kernel<<<grid_for(count), kThreads, 0, stream>>>(acc, x, count);
}

}  // namespace tessera::kernels::cuda
