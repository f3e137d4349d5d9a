#pragma once
// What the CUDA backend's source files share: its device, stream, cuBLAS handle, memory and the
// running step. Internal to runtime/backend/cuda_backend*.cpp.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "runtime/backend/cuda_allocator.hpp"
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/backend/cuda_gemm.hpp"
#include "runtime/backend/cuda_step_recorder.hpp"

namespace tessera::runtime {

// Operation kinds, for step signatures (cuda_step::signature).
enum class CudaOp : int {
  embedding = 1,
  rms_norm,
  add_rms_norm,
  linear,
  qk_norm,
  rope,
  attention,
  silu_mul,
  add,
  gather_rows,
  rope_attention,
  gelu_tanh_mul,
  scale,
  mixture_of_experts,
  scale_rows_by_sigmoid,
};

// An operation's scalar arguments (eps and weight offset, a factor, a softmax scale) as the
// `extra` of its signature, so a replay is checked against the values it was captured with as
// well as the tensors: the first in the high 32 bits, the second in the low ones.
inline std::int64_t scalar_key(float high, float low = 0.0f) {
  std::uint32_t h = 0, l = 0;
  std::memcpy(&h, &high, sizeof h);
  std::memcpy(&l, &low, sizeof l);
  return static_cast<std::int64_t>((static_cast<std::uint64_t>(h) << 32) | l);
}

struct CudaBackend::State {
  int device = 0;
  int multiprocessors = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  void* cublas_workspace = nullptr;
  std::unique_ptr<CudaGemm> gemm;  // shares cublas_workspace
  std::shared_ptr<CudaAllocator> memory;
  std::unique_ptr<cuda_step::StepRecorder> step;
  // Zeroed counters for paged attention's splits (kernels::cuda::AttentionSplits), one per
  // block of a split call: at most two blocks per multiprocessor are split (see
  // cuda_backend_attention.cpp). Allocated with the backend, left zero by every call.
  unsigned* split_counters = nullptr;
  std::int64_t split_counter_count = 0;

  // Makes the backend's device current on the calling thread (actors call from their own).
  void enter() const;

  // The one way an operation reaches the stream. Makes the device current; then, unless a
  // replayed graph does this operation (checked against what was captured: its kind, the
  // tensors it touches and `extra`), calls launch(*this), which checks the arguments and queues
  // the kernels; while capturing, the operation is recorded first. Every recorded operation
  // goes through here, so none can launch outside a graph it belongs in or be skipped by a
  // replay's check.
  template <class Launch>
  void run(CudaOp op, std::initializer_list<const Tensor*> tensors, std::int64_t extra,
           Launch&& launch) {
    enter();
    if (replayed(op, tensors, extra)) return;
    launch(*this);
  }
  template <class Launch>
  void run(CudaOp op, std::initializer_list<const Tensor*> tensors, Launch&& launch) {
    run(op, tensors, 0, std::forward<Launch>(launch));
  }

  // Device memory for the duration of one operation, from the step's pool. Released when the
  // last copy goes; the stream orders any later user after this operation's work.
  std::shared_ptr<void> temporary(std::size_t bytes) const;
  // A new tensor from the step's pool (uninitialised).
  Tensor new_tensor(DType dtype, std::vector<std::int64_t> shape) const;

  // `values` on the device: the step's own metadata at `offset` when `from_step`, otherwise a
  // copy into `keep` (refused while a graph is being captured or replayed: it would be stale).
  const std::int32_t* device_ints(std::span<const std::int32_t> values, bool from_step,
                                  std::int64_t offset, std::shared_ptr<void>& keep) const;

 private:
  // True when a replayed graph does this operation (after checking it matches the capture);
  // records it while capturing. Only run() asks.
  bool replayed(CudaOp op, std::initializer_list<const Tensor*> tensors, std::int64_t extra);
};

}  // namespace tessera::runtime
