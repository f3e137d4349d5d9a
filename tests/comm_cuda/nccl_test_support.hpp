#pragma once
// What the NCCL communicator tests share.
#include <chrono>

#include "runtime/comm/nccl_communicator.hpp"

namespace tessera::runtime {

// NCCL options with this deadline for joining, every collective and every transfer.
inline NcclOptions options_with(std::chrono::milliseconds timeout) {
  NcclOptions options;
  options.timeout = timeout;
  return options;
}

}  // namespace tessera::runtime
