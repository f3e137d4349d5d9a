#include "runtime/comm/communicator.hpp"

#include <cstring>
#include <string>

#include "runtime/core/error.hpp"

namespace tessera::runtime {

void check_peer(int peer, int rank, int size, const char* kind) {
  if (peer >= 0 && peer < size && peer != rank) return;
  throw Error(ErrorCategory::invalid_argument,
              "rank " + std::to_string(rank) + " of " + std::string(kind) + " of " +
                  std::to_string(size) + " has no peer " + std::to_string(peer) +
                  (peer == rank ? " (a rank does not send to itself)" : ""));
}

void check_color(int color, int rank) {
  if (color >= 0 || color == Communicator::no_color) return;
  throw Error(ErrorCategory::invalid_argument,
              "rank " + std::to_string(rank) + " asked to split with colour " +
                  std::to_string(color) + " (a colour is >= 0, or no_color)");
}

void SingleRankCommunicator::gather_columns(const Tensor& local, Tensor& full) {
  if (local.device() != Device::cpu || full.device() != Device::cpu) {
    throw Error(ErrorCategory::internal, "SingleRankCommunicator gathers host tensors only");
  }
  if (local.data<float>() != full.data<float>()) {
    std::memcpy(full.data<float>(), local.data<float>(),
                static_cast<std::size_t>(local.numel()) * sizeof(float));
  }
}

void SingleRankCommunicator::send(const Tensor&, int peer) { check_peer(peer, 0, 1, "a group"); }

void SingleRankCommunicator::recv(Tensor&, int peer) { check_peer(peer, 0, 1, "a group"); }

std::unique_ptr<Communicator> SingleRankCommunicator::split(int color) {
  check_color(color, 0);
  if (color == no_color) return nullptr;
  return std::make_unique<SingleRankCommunicator>();
}

}  // namespace tessera::runtime
