// NcclCommunicator's transfers between two ranks and its split into subgroups, each under the
// deadline, polling and abort discipline of nccl_communicator_state.hpp.
#include <memory>
#include <string>

#include "runtime/comm/nccl_communicator.hpp"
#include "runtime/comm/nccl_communicator_state.hpp"

namespace tessera::runtime {
namespace {

using nccl_detail::Clock;

std::string transfer_text(const char* what, std::size_t bytes, const char* direction, int peer) {
  return std::string(what) + " of " + std::to_string(bytes) + " bytes " + direction + " rank " +
         std::to_string(peer);
}

}  // namespace

void NcclCommunicator::send(const Tensor& x, int peer) {
  State& s = *state_;
  s.require_device_tensor(x, "send");
  check_peer(peer, s.rank, s.size, "an NCCL group");
  const std::size_t bytes = nccl_detail::bytes_of(x);
  if (bytes == 0) return;
  // Bytes, not elements: a transfer does no arithmetic, so any dtype travels.
  s.collective(
      transfer_text("send", bytes, "to", peer),
      [&] {
        return nccl_detail::grouped([&](auto keep) {
          keep(ncclSend(x.data<void>(), bytes, ncclUint8, peer, s.comm, s.stream));
        });
      },
      [] {});
}

void NcclCommunicator::recv(Tensor& x, int peer) {
  State& s = *state_;
  s.require_device_tensor(x, "recv");
  check_peer(peer, s.rank, s.size, "an NCCL group");
  const std::size_t bytes = nccl_detail::bytes_of(x);
  if (bytes == 0) return;
  s.collective(
      transfer_text("recv", bytes, "from", peer),
      [&] {
        return nccl_detail::grouped([&](auto keep) {
          keep(ncclRecv(x.data<void>(), bytes, ncclUint8, peer, s.comm, s.stream));
        });
      },
      [] {});
}

std::unique_ptr<Communicator> NcclCommunicator::split(int color) {
  State& s = *state_;
  check_color(color, s.rank);
  const std::string what = "ncclCommSplit (colour " + std::to_string(color) + ")";
  s.refuse_if_aborted(what);
  s.cuda(cudaSetDevice(s.device), what, "cudaSetDevice");
  const auto deadline = Clock::now() + s.timeout;
  auto child = std::make_unique<State>();
  child->backend = s.backend;
  child->device = s.device;
  child->timeout = s.timeout;
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  const ncclResult_t result =
      ncclCommSplit(s.comm, color == no_color ? NCCL_SPLIT_NOCOLOR : color, s.rank, &child->comm,
                    &config);
  if (!child->comm) {
    // No new group for this rank (or the call failed before making one): the parent says when
    // its part of the split is done.
    s.wait_issued(what, result, deadline);
    return nullptr;
  }
  // A non-blocking split completes on the new communicator, which is polled like a new group.
  // Its peers are this group's ranks of the same colour: if they fail, this group cannot be
  // trusted either, so a failure aborts both.
  try {
    child->rank = s.rank;  // for messages until NCCL says
    child->size = s.size;
    child->wait_issued(what, result, deadline);
    int rank = 0;
    int size = 0;
    if (ncclCommUserRank(child->comm, &rank) != ncclSuccess ||
        ncclCommCount(child->comm, &size) != ncclSuccess) {
      child->fail(what, "made a communicator whose rank or size NCCL cannot tell");
    }
    child->rank = rank;
    child->size = size;
    child->cuda(cudaStreamCreateWithFlags(&child->stream, cudaStreamNonBlocking), what,
                "cudaStreamCreate");
  } catch (const Error& e) {
    s.fail(what, std::string("failed: ") + e.what());
  }
  return std::unique_ptr<Communicator>(new NcclCommunicator(std::move(child)));
}

NcclCommunicator::NcclCommunicator(std::unique_ptr<State> state) : state_(std::move(state)) {
  // As at joining: the first collective connects the peers, under the deadline.
  barrier();
}

}  // namespace tessera::runtime
