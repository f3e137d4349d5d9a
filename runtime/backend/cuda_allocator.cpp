#include "runtime/backend/cuda_allocator.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <bit>
#include <string>

#include "runtime/core/error.hpp"

namespace tessera::runtime {

namespace {

// Makes `device` current for a scope and restores the caller's device (the allocator may be used
// from threads that drive other GPUs).
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    if (cudaGetDevice(&previous_) != cudaSuccess) previous_ = -1;
    if (previous_ != device) (void)cudaSetDevice(device);
  }
  ~DeviceScope() {
    if (previous_ >= 0) (void)cudaSetDevice(previous_);
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = -1;
};

}  // namespace

std::shared_ptr<CudaAllocator> CudaAllocator::create(int device) {
  return std::shared_ptr<CudaAllocator>(new CudaAllocator(device));
}

CudaAllocator::~CudaAllocator() {
  // Every block handed out holds a reference to the allocator, so only free blocks remain.
  DeviceScope scope(device_);
  for (auto& [size, blocks] : free_) {
    for (void* block : blocks) (void)cudaFree(block);
  }
}

std::size_t CudaAllocator::rounded_size(std::size_t bytes) {
  constexpr std::size_t kMinimum = 512;
  constexpr std::size_t kLargestStep = std::size_t{2} << 20;
  if (bytes <= kMinimum) return kMinimum;
  const std::size_t step = std::clamp(std::bit_floor(bytes) / 8, kMinimum, kLargestStep);
  return (bytes + step - 1) / step * step;
}

void* CudaAllocator::allocate(std::size_t bytes, Fit fit) {
  const std::size_t size = fit == Fit::exact ? std::max<std::size_t>(bytes, 256) : rounded_size(bytes);
  std::lock_guard lock(mutex_);
  void* block = nullptr;
  if (auto it = free_.find(size); it != free_.end() && !it->second.empty()) {
    block = it->second.back();
    it->second.pop_back();
    ++stats_.reuses;
  } else {
    DeviceScope scope(device_);
    cudaError_t status = cudaMalloc(&block, size);
    if (status == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // not sticky: clear it before trying again
      free_cached_locked();
      status = cudaMalloc(&block, size);
    }
    if (status != cudaSuccess) {
      (void)cudaGetLastError();
      throw Error(ErrorCategory::internal,
                  "CUDA device " + std::to_string(device_) + " cannot allocate " +
                      std::to_string(size) + " bytes (" + std::to_string(stats_.bytes_in_use) +
                      " in use): " + cudaGetErrorString(status));
    }
    ++stats_.device_allocations;
    stats_.bytes_reserved += size;
  }
  live_.emplace(block, size);
  stats_.bytes_in_use += size;
  stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
  return block;
}

void CudaAllocator::release(void* block) {
  std::lock_guard lock(mutex_);
  const auto it = live_.find(block);
  if (it == live_.end()) return;  // not ours: nothing sensible to do in a deleter
  free_[it->second].push_back(block);
  stats_.bytes_in_use -= it->second;
  live_.erase(it);
}

std::shared_ptr<void> CudaAllocator::allocate_shared(std::size_t bytes, Fit fit) {
  void* block = allocate(bytes, fit);
  return std::shared_ptr<void>(block, [owner = shared_from_this()](void* p) { owner->release(p); });
}

void CudaAllocator::empty_cache() {
  std::lock_guard lock(mutex_);
  free_cached_locked();
}

void CudaAllocator::free_cached_locked() {
  DeviceScope scope(device_);
  // Queued work may still read a cached block (see the header): wait before giving blocks back.
  (void)cudaDeviceSynchronize();
  for (auto& [size, blocks] : free_) {
    for (void* block : blocks) {
      (void)cudaFree(block);
      stats_.bytes_reserved -= size;
    }
  }
  free_.clear();
}

CudaAllocator::Stats CudaAllocator::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace tessera::runtime
