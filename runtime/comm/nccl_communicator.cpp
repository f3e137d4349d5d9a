#include "runtime/comm/nccl_communicator.hpp"

#include <gloo/rendezvous/prefix_store.h>
#include <gloo/rendezvous/store.h>

#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "runtime/comm/nccl_communicator_state.hpp"

namespace tessera::runtime {
namespace {

using nccl_detail::Clock;
using nccl_detail::milliseconds_text;

constexpr const char* kUniqueIdKey = "nccl_unique_id";

}  // namespace

ncclUniqueId NcclCommunicator::State::share_unique_id(gloo::rendezvous::Store* store,
                                                      const std::string& prefix,
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
                             nccl_detail::nccl_type(x.dtype()), ncclSum, s.comm, s.stream);
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
  const std::size_t block_bytes = nccl_detail::bytes_of(local);
  if (block_bytes == 0) return;
  if (s.size == 1 && local.data<void>() == full.data<void>()) return;
  // NCCL has no gather: rank 0 receives every other rank's block into scratch, then copies each
  // block (its own straight from `local`) into its column range of `full` with a strided copy.
  char* landing = root && s.size > 1
                      ? static_cast<char*>(s.scratch_of(block_bytes * (ranks - 1), what))
                      : nullptr;
  const ncclDataType_t type = nccl_detail::nccl_type(local.dtype());
  const std::size_t count = static_cast<std::size_t>(local.numel());
  auto issue = [&]() -> ncclResult_t {
    if (s.size == 1) return ncclSuccess;
    return nccl_detail::grouped([&](auto keep) {
      if (root) {
        for (int peer = 1; peer < s.size; ++peer) {
          keep(ncclRecv(landing + block_bytes * static_cast<std::size_t>(peer - 1), count, type,
                        peer, s.comm, s.stream));
        }
      } else {
        keep(ncclSend(local.data<void>(), count, type, 0, s.comm, s.stream));
      }
    });
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
                             nccl_detail::nccl_type(x.dtype()), root, s.comm, s.stream);
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
