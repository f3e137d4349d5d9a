#include "runtime/comm/communicator.hpp"

#include <cstring>

#include "runtime/core/error.hpp"

namespace tessera::runtime {

void SingleRankCommunicator::gather_columns(const Tensor& local, Tensor& full) {
  if (local.device() != Device::cpu || full.device() != Device::cpu) {
    throw Error(ErrorCategory::internal, "SingleRankCommunicator gathers host tensors only");
  }
  if (local.data<float>() != full.data<float>()) {
    std::memcpy(full.data<float>(), local.data<float>(),
                static_cast<std::size_t>(local.numel()) * sizeof(float));
  }
}

}  // namespace tessera::runtime
