#pragma once
// What the runtime asks of a CUDA device besides computing on it: its name (for start-up lines)
// and its free memory (to size the KV pool after the weights are loaded). Plain C++ so that
// callers outside the CUDA part include it without the CUDA headers; compiled only with CUDA.
#include <cstdint>
#include <string>

namespace tessera::runtime {

struct CudaMemory {
  std::int64_t free_bytes = 0;
  std::int64_t total_bytes = 0;
};

// Both throw Error(unsupported) naming the device when it cannot be queried.
std::string cuda_device_name(int device);
// Free and total memory of `device` now (cudaMemGetInfo), as the driver sees it: other
// processes' allocations count as used.
CudaMemory cuda_device_memory(int device);

}  // namespace tessera::runtime
