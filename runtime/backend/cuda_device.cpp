#include "runtime/backend/cuda_device.hpp"

#include <cuda_runtime.h>

#include "runtime/core/error.hpp"

namespace tessera::runtime {
namespace {

void check(cudaError_t status, int device, const char* what) {
  if (status != cudaSuccess) {
    (void)cudaGetLastError();  // leave no error behind for the next CUDA call on this thread
    throw Error(ErrorCategory::unsupported, std::string(what) + " failed on CUDA device " +
                                                std::to_string(device) + ": " +
                                                cudaGetErrorString(status));
  }
}

}  // namespace

std::string cuda_device_name(int device) {
  cudaDeviceProp properties{};
  check(cudaGetDeviceProperties(&properties, device), device, "cudaGetDeviceProperties");
  return properties.name;
}

CudaMemory cuda_device_memory(int device) {
  // cudaMemGetInfo reports on the calling thread's current device.
  check(cudaSetDevice(device), device, "cudaSetDevice");
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
  check(cudaMemGetInfo(&free_bytes, &total_bytes), device, "cudaMemGetInfo");
  return {static_cast<std::int64_t>(free_bytes), static_cast<std::int64_t>(total_bytes)};
}

}  // namespace tessera::runtime
