#pragma once
// What the CUDA backend's source files share: its device, stream, cuBLAS handle, memory and the
// running step. Internal to runtime/backend/cuda_backend*.cpp.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <span>
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
};

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

  // True when a replayed graph does this operation (after checking it matches the capture);
  // records it while capturing.
  bool replayed(CudaOp op, std::initializer_list<const Tensor*> tensors, std::int64_t extra = 0);

  // Device memory for the duration of one operation, from the step's pool. Released when the
  // last copy goes; the stream orders any later user after this operation's work.
  std::shared_ptr<void> temporary(std::size_t bytes) const;
  // A new tensor from the step's pool (uninitialised).
  Tensor new_tensor(DType dtype, std::vector<std::int64_t> shape) const;

  // `values` on the device: the step's own metadata at `offset` when `from_step`, otherwise a
  // copy into `keep` (refused while a graph is being captured or replayed: it would be stale).
  const std::int32_t* device_ints(std::span<const std::int32_t> values, bool from_step,
                                  std::int64_t offset, std::shared_ptr<void>& keep) const;
};

}  // namespace tessera::runtime
