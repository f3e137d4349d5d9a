#pragma once
// Overlapped launches (programmatic dependent launch, sm_90 and later) for the kernels of a
// decode step. A decode step is a chain of about 300 kernels, most of them short: between two of
// them the GPU drains one grid and starts the next, and at batch 1 that gap is worth a large part
// of the step. A kernel launched with launch_overlapped may start while the one before it is
// still running: it does what depends on nothing earlier (the GEMV starts streaming its weight),
// then waits for that kernel to finish before it touches its results.
//
// The rules for a kernel launched this way: every thread calls wait_for_previous_kernel() before
// it reads anything an earlier kernel of the step wrote and before it writes anything. Before
// that wait it may read only what no kernel writes during a step (weights, rotary frequencies).
// Since the kernels before it may themselves have started early, the wait (which returns once
// the previous kernel has finished, so once everything before it has) is what orders it after
// all earlier work.
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdlib>
#include <string_view>
#include <utility>

namespace tessera::kernels::cuda::detail {

// Returns once the previous kernel in the stream has finished and its writes are visible. A
// no-op for a kernel launched the ordinary way, or compiled for a device without overlap.
__device__ inline void wait_for_previous_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// Lets the next kernel in the stream (if it was launched overlapped) be scheduled once every
// block of this one has called it: it still waits for this kernel to finish before using its
// results. Called first thing: the next kernel's blocks then take the multiprocessors this
// grid leaves idle.
__device__ inline void let_next_kernel_start() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

// Whether launches overlap: on devices of compute capability 9.0 and later, unless
// TESSERA_OVERLAP_LAUNCHES=0 (to measure what overlap gains, or to rule it out when chasing a
// fault). Otherwise the launch is an ordinary one.
inline bool overlap_enabled() {
  static const bool turned_off = [] {
    const char* setting = std::getenv("TESSERA_OVERLAP_LAUNCHES");
    return setting != nullptr && std::string_view(setting) == "0";
  }();
  int device = 0;
  int major = 0;
  return !turned_off && cudaGetDevice(&device) == cudaSuccess &&
         cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) ==
             cudaSuccess &&
         major >= 9;
}

// kernel<<<grid, block, shared_bytes, stream>>>(args...), allowed to overlap the previous kernel
// in the stream as described above. Errors are left for cudaGetLastError, as with <<<>>>.
template <class... Params, class... Args>
void launch_overlapped(void (*kernel)(Params...), dim3 grid, dim3 block,
                       std::size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  cudaLaunchAttribute overlap{};
  overlap.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  overlap.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared_bytes;
  config.stream = stream;
  config.attrs = &overlap;
  config.numAttrs = overlap_enabled() ? 1 : 0;
  (void)cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

}  // namespace tessera::kernels::cuda::detail
