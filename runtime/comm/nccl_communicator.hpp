#pragma once
// Collectives among GPU ranks through NCCL, one GPU per rank: threads of one process, or (later)
// processes on several hosts, joined through the same kind of Gloo store the CPU path uses.
//
// Nothing here may hang: the communicator is non-blocking (ncclConfig_t::blocking = 0), and every
// call, joining the group included, is polled until it is done or its deadline passes; then the
// communicator is aborted (ncclCommAbort) and an Error names the operation, the rank and the
// timeout. An aborted communicator refuses every later call.
//
// Ordering with the backend: CudaBackend keeps its stream to itself, so each collective first
// waits for the backend's queued work (its inputs), runs on the communicator's own stream, and
// returns once that stream has finished, so later backend work sees the result.
#include <chrono>
#include <memory>
#include <string>

#include "runtime/comm/communicator.hpp"

namespace gloo::rendezvous {
class Store;
}

namespace tessera::runtime {

class CudaBackend;

struct NcclOptions {
  std::chrono::milliseconds timeout{30000};  // joining the group, each collective and transfer
  std::string prefix = "tessera";            // namespaces one group's keys in the store
};

class NcclCommunicator final : public Communicator {
 public:
  // Joins the group as `rank` of `size` on CUDA device `device`, the one `backend` computes on
  // (the backend must outlive the communicator). Rank 0 makes the NCCL unique id and publishes
  // it in `store`, which may be null for a group of one. Every rank must call this concurrently;
  // it returns once the group can carry data, or throws Error naming what did not happen in time.
  NcclCommunicator(CudaBackend& backend, int device, std::shared_ptr<gloo::rendezvous::Store> store,
                   int rank, int size, const NcclOptions& options = {});
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override;
  int size() const override;
  // Tensors must be on this communicator's device (f32, bf16 or f16).
  void all_reduce_sum(Tensor& x) override;
  void gather_columns(const Tensor& local, Tensor& full) override;
  void broadcast(Tensor& x, int root) override;
  void barrier() override;
  // Any tensor on this communicator's device (its bytes travel, whatever the dtype).
  void send(const Tensor& x, int peer) override;
  void recv(Tensor& x, int peer) override;
  // ncclCommSplit, under the same deadline and abort discipline as a collective; the new
  // group computes on this one's device and backend, with a stream of its own.
  std::unique_ptr<Communicator> split(int color) override;

  // True once a failure or a missed deadline aborted the communicator.
  bool aborted() const;

 private:
  struct State;
  // A group made by split, its communicator already initialised.
  explicit NcclCommunicator(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tessera::runtime
