#pragma once
// NcclCommunicator's insides, shared by its source files (joining and collectives in
// nccl_communicator.cpp, point-to-point and split in nccl_point_to_point.cpp): the deadline,
// polling and abort discipline every NCCL call goes through. Not a public header: nothing
// outside runtime/comm includes it.
#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>

namespace gloo::rendezvous {
class Store;
}

#include "runtime/backend/cuda_backend.hpp"
#include "runtime/comm/nccl_communicator.hpp"
#include "runtime/core/error.hpp"

namespace tessera::runtime {
namespace nccl_detail {

using Clock = std::chrono::steady_clock;

inline std::string describe(int rank, int size, int device) {
  return "rank " + std::to_string(rank) + " of an NCCL group of " + std::to_string(size) +
         " (CUDA device " + std::to_string(device) + ")";
}

inline std::string milliseconds_text(std::chrono::milliseconds timeout) {
  return std::to_string(timeout.count()) + " ms";
}

// A decode step's collective takes microseconds, so a short wait spins; a long one (a slow or
// lost peer) sleeps, leaving the core to the ranks that still compute.
inline void pause(Clock::time_point waiting_since) {
  if (Clock::now() - waiting_since < std::chrono::milliseconds(1)) {
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

inline ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return ncclFloat32;
    case DType::f16:
      return ncclFloat16;
    case DType::bf16:
      return ncclBfloat16;
    case DType::f8_e4m3:
      return ncclUint8;  // moved as bytes; never reduced
  }
  throw Error(ErrorCategory::internal, "NcclCommunicator: unknown dtype");
}

inline std::size_t bytes_of(const Tensor& x) {
  return static_cast<std::size_t>(x.numel()) * dtype_size(x.dtype());
}

// Issues NCCL calls as one group (point-to-point calls must be grouped so that a send and a recv
// do not wait for each other): `calls(keep)` passes each call's result to keep. Returns the first
// failure, or else what closing the group returned.
template <class Calls>
ncclResult_t grouped(Calls&& calls) {
  ncclResult_t first = ncclGroupStart();
  auto keep = [&first](ncclResult_t result) {
    if (first == ncclSuccess || first == ncclInProgress) first = result;
  };
  std::forward<Calls>(calls)(keep);
  const ncclResult_t end = ncclGroupEnd();  // closes the group even after a failed call
  return first == ncclSuccess || first == ncclInProgress ? end : first;
}

}  // namespace nccl_detail

struct NcclCommunicator::State {
  using Clock = nccl_detail::Clock;

  CudaBackend* backend = nullptr;
  int device = 0;
  int rank = 0;
  int size = 1;
  std::chrono::milliseconds timeout{0};
  cudaStream_t stream = nullptr;
  ncclComm_t comm = nullptr;
  bool aborted = false;
  std::string abort_reason;
  void* scratch = nullptr;  // rank 0's landing area for gather_columns; one value for barrier
  std::size_t scratch_bytes = 0;

  ~State() { tear_down(); }

  std::string who() const { return nccl_detail::describe(rank, size, device); }

  // Without a failure, finalize lets peers finish reading this rank's buffers before they go;
  // it is bounded by the timeout like everything else, and abort is the fallback.
  void tear_down() noexcept {
    if (!comm && !scratch && !stream) return;  // refused before touching the device
    (void)cudaSetDevice(device);
    if (comm && !aborted) {
      const auto deadline = Clock::now() + timeout;
      const auto start = Clock::now();
      ncclResult_t state = ncclCommFinalize(comm);
      while (state == ncclInProgress && Clock::now() < deadline) {
        nccl_detail::pause(start);
        if (ncclCommGetAsyncError(comm, &state) != ncclSuccess) state = ncclInternalError;
      }
      if (state == ncclSuccess) {
        (void)ncclCommDestroy(comm);
        comm = nullptr;
      }
    }
    if (comm) (void)ncclCommAbort(comm);  // also stops its kernels still on the stream
    comm = nullptr;
    if (scratch) (void)cudaFree(scratch);  // waits for the device: no copy still reads it
    if (stream) (void)cudaStreamDestroy(stream);
    scratch = nullptr;
    stream = nullptr;
  }

  // After a failure nothing can be assumed about work queued on the communicator, so it is
  // aborted (peers then fail too, by their own errors or deadlines) and refuses further calls.
  [[noreturn]] void fail(const std::string& what, const std::string& why) {
    abort_reason = "NCCL " + what + " on " + who() + " " + why;
    if (comm) (void)ncclCommAbort(comm);
    comm = nullptr;
    aborted = true;
    throw Error(ErrorCategory::io, abort_reason + "; the communicator was aborted");
  }

  std::string nccl_text(ncclResult_t result) const {
    std::string text = ncclGetErrorString(result);
    const char* last = ncclGetLastError(comm);
    if (last != nullptr && *last != '\0') text += " (" + std::string(last) + ")";
    return text;
  }

  void cuda(cudaError_t status, const std::string& what, const char* call) {
    if (status == cudaSuccess) return;
    (void)cudaGetLastError();
    fail(what, std::string("failed: ") + call + ": " + cudaGetErrorString(status));
  }

  void refuse_if_aborted(const std::string& what) const {
    if (aborted) {
      throw Error(ErrorCategory::io, "NCCL " + what + " on " + who() +
                                         ": the communicator was aborted after an earlier " +
                                         "failure (" + abort_reason + ")");
    }
  }

  // A non-blocking communicator answers ncclInProgress until a call is issued; no other NCCL
  // call and no CUDA work on its stream may come before that.
  void wait_issued(const std::string& what, ncclResult_t result, Clock::time_point deadline) {
    const auto start = Clock::now();
    while (result == ncclInProgress) {
      if (Clock::now() >= deadline) {
        fail(what, "did not finish within " + nccl_detail::milliseconds_text(timeout));
      }
      nccl_detail::pause(start);
      const ncclResult_t query = ncclCommGetAsyncError(comm, &result);
      if (query != ncclSuccess) result = query;
    }
    if (result != ncclSuccess) fail(what, "failed: " + nccl_text(result));
  }

  // Then the stream runs it; a peer that fails meanwhile shows as an asynchronous NCCL error.
  void wait_done(const std::string& what, Clock::time_point deadline) {
    const auto start = Clock::now();
    while (true) {
      const cudaError_t status = cudaStreamQuery(stream);
      if (status == cudaSuccess) return;
      if (status != cudaErrorNotReady) cuda(status, what, "cudaStreamQuery");
      ncclResult_t async = ncclSuccess;
      const ncclResult_t query = ncclCommGetAsyncError(comm, &async);
      if (query != ncclSuccess) async = query;
      if (async != ncclSuccess && async != ncclInProgress) {
        fail(what, "failed: " + nccl_text(async));
      }
      if (Clock::now() >= deadline) {
        fail(what, "did not complete within " + nccl_detail::milliseconds_text(timeout));
      }
      nccl_detail::pause(start);
    }
  }

  // One collective under one deadline: the backend's queued work (the inputs) first, then
  // `issue` (returns NCCL's result), then `after` (stream work that needs the issued call),
  // then the wait for the stream.
  template <class Issue, class After>
  void collective(const std::string& what, Issue&& issue, After&& after) {
    refuse_if_aborted(what);
    cuda(cudaSetDevice(device), what, "cudaSetDevice");
    backend->synchronize();
    const auto deadline = Clock::now() + timeout;
    wait_issued(what, std::forward<Issue>(issue)(), deadline);
    std::forward<After>(after)();
    wait_done(what, deadline);
  }

  // Rank 0 makes the id (it also starts NCCL's bootstrap listener) and publishes it in `store`;
  // the others wait for it under the joining deadline (nccl_communicator.cpp).
  ncclUniqueId share_unique_id(gloo::rendezvous::Store* store, const std::string& prefix,
                               Clock::time_point deadline);

  void* scratch_of(std::size_t bytes, const std::string& what) {
    if (bytes > scratch_bytes) {
      cuda(cudaSetDevice(device), what, "cudaSetDevice");
      // cudaFree waits for the device, so no queued copy still reads the old buffer.
      if (scratch) cuda(cudaFree(scratch), what, "cudaFree");
      scratch = nullptr;
      scratch_bytes = 0;
      cuda(cudaMalloc(&scratch, bytes), what, "cudaMalloc");
      scratch_bytes = bytes;
    }
    return scratch;
  }

  void require_device_tensor(const Tensor& x, const std::string& what) const {
    if (!x.defined() || x.device() != Device::cuda) {
      throw Error(ErrorCategory::internal,
                  "NcclCommunicator::" + what + " needs a defined tensor on the CUDA device");
    }
  }
};

}  // namespace tessera::runtime
