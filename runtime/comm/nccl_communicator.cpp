#include "runtime/comm/nccl_communicator.hpp"

#include <cuda_runtime.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/rendezvous/store.h>
#include <nccl.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/backend/cuda_backend.hpp"
#include "runtime/core/error.hpp"

namespace tessera::runtime {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUniqueIdKey = "nccl_unique_id";

std::string describe(int rank, int size, int device) {
  return "rank " + std::to_string(rank) + " of an NCCL group of " + std::to_string(size) +
         " (CUDA device " + std::to_string(device) + ")";
}

std::string milliseconds_text(std::chrono::milliseconds timeout) {
  return std::to_string(timeout.count()) + " ms";
}

// A decode step's collective takes microseconds, so a short wait spins; a long one (a slow or
// lost peer) sleeps, leaving the core to the ranks that still compute.
void pause(Clock::time_point waiting_since) {
  if (Clock::now() - waiting_since < std::chrono::milliseconds(1)) {
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return ncclFloat32;
    case DType::f16:
      return ncclFloat16;
    case DType::bf16:
      return ncclBfloat16;
  }
  throw Error(ErrorCategory::internal, "NcclCommunicator: unknown dtype");
}

std::size_t bytes_of(const Tensor& x) {
  return static_cast<std::size_t>(x.numel()) * dtype_size(x.dtype());
}

}  // namespace

struct NcclCommunicator::State {
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

  std::string who() const { return describe(rank, size, device); }

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
        pause(start);
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
        fail(what, "did not finish within " + milliseconds_text(timeout));
      }
      pause(start);
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
        fail(what, "did not complete within " + milliseconds_text(timeout));
      }
      pause(start);
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

  // Rank 0 makes the id (it also starts NCCL's bootstrap listener) and publishes it; the others
  // wait for it under the joining deadline.
  ncclUniqueId share_unique_id(gloo::rendezvous::Store* store, const std::string& prefix,
                               Clock::time_point deadline) {
    ncclUniqueId id{};
    if (rank == 0) {
      const ncclResult_t result = ncclGetUniqueId(&id);
      if (result != ncclSuccess) {
        fail("ncclGetUniqueId", std::string("failed: ") + ncclGetErrorString(result));
      }
      if (size > 1) {
        gloo::rendezvous::PrefixStore group_store(prefix, *store);
        const auto* bytes = reinterpret_cast<const char*>(&id);
        group_store.set(kUniqueIdKey, std::vector<char>(bytes, bytes + sizeof id));
      }
      return id;
    }
    gloo::rendezvous::PrefixStore group_store(prefix, *store);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left < std::chrono::milliseconds(1)) left = std::chrono::milliseconds(1);
    std::vector<char> bytes;
    try {
      group_store.wait({kUniqueIdKey}, left);
      bytes = group_store.get(kUniqueIdKey);
    } catch (const std::exception&) {
      fail("rendezvous", "got no NCCL unique id from rank 0 within " + milliseconds_text(timeout));
    }
    if (bytes.size() != sizeof id) {
      fail("rendezvous", "read an NCCL unique id of " + std::to_string(bytes.size()) +
                             " bytes from the store (expected " + std::to_string(sizeof id) + ")");
    }
    std::memcpy(&id, bytes.data(), sizeof id);
    return id;
  }
};

NcclCommunicator::NcclCommunicator(CudaBackend& backend, int device,
                                   std::shared_ptr<gloo::rendezvous::Store> store, int rank,
                                   int size, const NcclOptions& options)
    : state_(std::make_unique<State>()) {
  if (size < 1 || rank < 0 || rank >= size) {
    throw Error(
        ErrorCategory::invalid_argument,
        "rank " + std::to_string(rank) + " is not in an NCCL group of " + std::to_string(size));
  }
  if (size > 1 && !store) {
    throw Error(ErrorCategory::invalid_argument,
                "an NCCL group of " + std::to_string(size) +
                    " needs a store to share its unique id (none was given to rank " +
                    std::to_string(rank) + ")");
  }
  if (options.timeout <= std::chrono::milliseconds::zero()) {
    throw Error(ErrorCategory::invalid_argument, "the NCCL timeout must be positive (got " +
                                                     milliseconds_text(options.timeout) + ")");
  }
  const int devices = CudaBackend::device_count();
  if (device < 0 || device >= devices) {
    throw Error(ErrorCategory::unsupported, "CUDA device " + std::to_string(device) + " for rank " +
                                                std::to_string(rank) + " of an NCCL group of " +
                                                std::to_string(size) + " is not available (" +
                                                std::to_string(devices) + " device(s) found)");
  }
  State& s = *state_;
  s.backend = &backend;
  s.device = device;
  s.rank = rank;
  s.size = size;
  s.timeout = options.timeout;
  s.cuda(cudaSetDevice(device), "join", "cudaSetDevice");
  s.cuda(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking), "join", "cudaStreamCreate");

  const auto deadline = Clock::now() + options.timeout;
  const ncclUniqueId id = s.share_unique_id(store.get(), options.prefix, deadline);
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  const ncclResult_t result = ncclCommInitRankConfig(&s.comm, size, id, rank, &config);
  s.wait_issued("ncclCommInitRank", result, deadline);
  // NCCL connects peers lazily, at their first collective: one now surfaces a broken link at
  // start-up, under a deadline, rather than in the first forward step.
  barrier();
}

NcclCommunicator::~NcclCommunicator() = default;

int NcclCommunicator::rank() const { return state_->rank; }

int NcclCommunicator::size() const { return state_->size; }

bool NcclCommunicator::aborted() const { return state_->aborted; }

void NcclCommunicator::all_reduce_sum(Tensor& x) {
  state_->require_device_tensor(x, "all_reduce_sum");
  if (x.numel() == 0) return;
  State& s = *state_;
  s.collective(
      "all_reduce_sum",
      [&] {
        return ncclAllReduce(x.data<void>(), x.data<void>(), static_cast<std::size_t>(x.numel()),
                             nccl_type(x.dtype()), ncclSum, s.comm, s.stream);
      },
      [] {});
}

void NcclCommunicator::gather_columns(const Tensor& local, Tensor& full) {
  const std::string what = "gather_columns";
  State& s = *state_;
  s.require_device_tensor(local, what);
  const bool root = s.rank == 0;
  const auto rows = static_cast<std::size_t>(local.rows());
  const auto cols = static_cast<std::size_t>(local.cols());
  const auto ranks = static_cast<std::size_t>(s.size);
  if (root) {
    s.require_device_tensor(full, what);
    if (full.dtype() != local.dtype() || static_cast<std::size_t>(full.rows()) != rows ||
        static_cast<std::size_t>(full.cols()) != cols * ranks) {
      throw Error(ErrorCategory::internal,
                  "gather_columns: rank 0's output is not [rows, cols * " + std::to_string(s.size) +
                      "] of the input's dtype for a [" + std::to_string(rows) + ", " +
                      std::to_string(cols) + "] block");
    }
  }
  const std::size_t element = dtype_size(local.dtype());
  const std::size_t block_bytes = bytes_of(local);
  if (block_bytes == 0) return;
  if (s.size == 1 && local.data<void>() == full.data<void>()) return;
  // NCCL has no gather: rank 0 receives every other rank's block into scratch, then copies each
  // block (its own straight from `local`) into its column range of `full` with a strided copy.
  char* landing = root && s.size > 1
                      ? static_cast<char*>(s.scratch_of(block_bytes * (ranks - 1), what))
                      : nullptr;
  const ncclDataType_t type = nccl_type(local.dtype());
  const std::size_t count = static_cast<std::size_t>(local.numel());
  auto issue = [&]() -> ncclResult_t {
    if (s.size == 1) return ncclSuccess;
    ncclResult_t first = ncclGroupStart();
    auto keep = [&first](ncclResult_t result) {
      if (first == ncclSuccess || first == ncclInProgress) first = result;
    };
    if (root) {
      for (int peer = 1; peer < s.size; ++peer) {
        keep(ncclRecv(landing + block_bytes * static_cast<std::size_t>(peer - 1), count, type, peer,
                      s.comm, s.stream));
      }
    } else {
      keep(ncclSend(local.data<void>(), count, type, 0, s.comm, s.stream));
    }
    const ncclResult_t end = ncclGroupEnd();  // closes the group even after a failed call
    return first == ncclSuccess || first == ncclInProgress ? end : first;
  };
  auto place = [&] {
    if (!root) return;
    const std::size_t row_bytes = cols * element;
    const std::size_t pitch = cols * ranks * element;
    auto* out = static_cast<char*>(full.data<void>());
    for (std::size_t r = 0; r < ranks; ++r) {
      const char* source =
          r == 0 ? static_cast<const char*>(local.data<void>()) : landing + block_bytes * (r - 1);
      s.cuda(cudaMemcpy2DAsync(out + r * row_bytes, pitch, source, row_bytes, row_bytes, rows,
                               cudaMemcpyDeviceToDevice, s.stream),
             what, "cudaMemcpy2DAsync");
    }
  };
  s.collective(what, issue, place);
}

void NcclCommunicator::broadcast(Tensor& x, int root) {
  State& s = *state_;
  s.require_device_tensor(x, "broadcast");
  if (root < 0 || root >= s.size) {
    throw Error(ErrorCategory::invalid_argument, "broadcast root " + std::to_string(root) +
                                                     " is not in a group of " +
                                                     std::to_string(s.size));
  }
  if (x.numel() == 0) return;
  s.collective(
      "broadcast",
      [&] {
        return ncclBroadcast(x.data<void>(), x.data<void>(), static_cast<std::size_t>(x.numel()),
                             nccl_type(x.dtype()), root, s.comm, s.stream);
      },
      [] {});
}

void NcclCommunicator::barrier() {
  // NCCL has no barrier; an all-reduce of one value completes only once every rank joined it.
  State& s = *state_;
  s.refuse_if_aborted("barrier");
  void* one = s.scratch_of(sizeof(float), "barrier");  // its value does not matter
  s.collective(
      "barrier", [&] { return ncclAllReduce(one, one, 1, ncclFloat32, ncclSum, s.comm, s.stream); },
      [] {});
}

}  // namespace tessera::runtime
