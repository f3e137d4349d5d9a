// The gated MLP's middle (SiLU for Llama-family models, tanh-approximated GELU for Gemma) for
// f32 and bf16 activations (and f32 in, bf16 out: the result only feeds the down projection),
// the residual add and scaling in place.
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/element.cuh"
#include "kernels/cuda/kernels.hpp"
#include "kernels/cuda/overlap.cuh"

namespace tessera::kernels::cuda {
namespace {

using namespace detail;

// The gate's activation times up, one functor per activation, so both gated MLPs share the
// kernels below.
struct SiluTimes {
  __device__ float operator()(float gate, float up) const {
    return gate / (1.0f + expf(-gate)) * up;
  }
};
struct GeluTanhTimes {
  // 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))): PyTorch's gelu(approximate="tanh").
  __device__ float operator()(float gate, float up) const {
    const float inner = 0.7978845608028654f * (gate + 0.044715f * gate * gate * gate);
    return 0.5f * gate * (1.0f + tanhf(inner)) * up;
  }
};

template <class Act, class In, class Out>
__global__ void gated_mul_kernel(const In* gate_up, std::int64_t rows, std::int64_t width,
                                Out* out) {
  let_next_kernel_start();
  wait_for_previous_kernel();
  const std::int64_t count = rows * width;
  for (std::int64_t i = global_index(); i < count; i += global_stride()) {
    const std::int64_t r = i / width;
    const std::int64_t j = i % width;
    const float gate = to_float(gate_up[r * 2 * width + j]);
    const float up = to_float(gate_up[r * 2 * width + width + j]);
    out[i] = from_float<Out>(Act{}(gate, up));
  }
}

__device__ inline void store4(float* out, float a, float b, float c, float d) {
  *reinterpret_cast<float4*>(out) = make_float4(a, b, c, d);
}
__device__ inline void store4(__nv_bfloat16* out, float a, float b, float c, float d) {
  *reinterpret_cast<uint2*>(out) = make_uint2(pack_bf16(a, b), pack_bf16(c, d));
}

// Four outputs per thread, with 16-byte loads of f32 gate and up values: at batch 64 the
// element-wise kernel issued one 4-byte load at a time and ran at a sixth of the copy rate.
// Same arithmetic per element as gated_mul_kernel.
template <class Act, class Out>
__global__ void gated_mul4_kernel(const float* gate_up, std::int64_t rows, std::int64_t width,
                                 Out* out) {
  let_next_kernel_start();
  wait_for_previous_kernel();
  const std::int64_t quads = rows * width / 4;
  for (std::int64_t i = global_index(); i < quads; i += global_stride()) {
    const std::int64_t r = i * 4 / width;
    const std::int64_t j = i * 4 % width;
    const float4 gate = *reinterpret_cast<const float4*>(gate_up + r * 2 * width + j);
    const float4 up = *reinterpret_cast<const float4*>(gate_up + r * 2 * width + width + j);
    const Act act;
    store4(out + i * 4, act(gate.x, up.x), act(gate.y, up.y), act(gate.z, up.z),
           act(gate.w, up.w));
  }
}

template <class Act, class In, class Out>
void launch_gated_mul(const In* gate_up, std::int64_t rows, std::int64_t width, Out* out,
                     cudaStream_t stream) {
  if (rows * width == 0) return;
  const auto aligned = [](const void* p, std::uintptr_t bytes) {
    return reinterpret_cast<std::uintptr_t>(p) % bytes == 0;
  };
  if constexpr (std::is_same_v<In, float>) {
    if (width % 4 == 0 && aligned(gate_up, 16) && aligned(out, 4 * sizeof(Out))) {
      launch_overlapped(gated_mul4_kernel<Act, Out>, grid_for(rows * width / 4), kThreads, 0, stream,
                        gate_up, rows, width, out);
      return;
    }
  }
  launch_overlapped(gated_mul_kernel<Act, In, Out>, grid_for(rows * width), kThreads, 0, stream,
                    gate_up, rows, width, out);
}

__global__ void add_kernel(float* acc, const float* x, std::int64_t count) {
  for (std::int64_t i = global_index(); i < count; i += global_stride()) acc[i] += x[i];
}

__global__ void scale_kernel(float* x, float factor, std::int64_t count) {
  for (std::int64_t i = global_index(); i < count; i += global_stride()) x[i] *= factor;
}

}  // namespace

void silu_mul(const __nv_bfloat16* gate_up, std::int64_t rows, std::int64_t width,
              __nv_bfloat16* out, cudaStream_t stream) {
  launch_gated_mul<SiluTimes>(gate_up, rows, width, out, stream);
}

void silu_mul_f32(const float* gate_up, std::int64_t rows, std::int64_t width, float* out,
                  cudaStream_t stream) {
  launch_gated_mul<SiluTimes>(gate_up, rows, width, out, stream);
}

void silu_mul_f32(const float* gate_up, std::int64_t rows, std::int64_t width,
                  __nv_bfloat16* out, cudaStream_t stream) {
  launch_gated_mul<SiluTimes>(gate_up, rows, width, out, stream);
}

void gelu_tanh_mul_f32(const float* gate_up, std::int64_t rows, std::int64_t width, float* out,
                       cudaStream_t stream) {
  launch_gated_mul<GeluTanhTimes>(gate_up, rows, width, out, stream);
}

void gelu_tanh_mul_f32(const float* gate_up, std::int64_t rows, std::int64_t width,
                       __nv_bfloat16* out, cudaStream_t stream) {
  launch_gated_mul<GeluTanhTimes>(gate_up, rows, width, out, stream);
}

void scale_f32(float* x, float factor, std::int64_t count, cudaStream_t stream) {
  if (count == 0) return;
  scale_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, factor, count);
}

void add_inplace_f32(float* acc, const float* x, std::int64_t count, cudaStream_t stream) {
  if (count == 0) return;
  add_kernel<<<grid_for(count), kThreads, 0, stream>>>(acc, x, count);
}

}  // namespace tessera::kernels::cuda
