#pragma once
// A caching allocator for the device memory of one GPU. A released block goes to a free list
// keyed by its rounded size and is handed out again for the next request of that size class, so
// a steady decode loop (the same shapes every step) stops calling cudaMalloc and cudaFree, each
// of which costs microseconds and cudaFree waits for the whole device.
//
// Reuse without waiting is safe because every reader and writer of these blocks is ordered on
// the one stream of the backend that owns the allocator: a block released while queued work still
// uses it is only given to work queued after that work.
//
// Thread-safe: tensors may be dropped on any thread.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace tessera::runtime {

class CudaAllocator : public std::enable_shared_from_this<CudaAllocator> {
 public:
  struct Stats {
    std::size_t bytes_in_use = 0;       // blocks handed out and not yet released
    std::size_t bytes_reserved = 0;     // in use plus cached in the free lists
    std::size_t peak_bytes_in_use = 0;
    std::int64_t device_allocations = 0;  // cudaMalloc calls so far
    std::int64_t reuses = 0;              // requests served from a free list
  };

  // Exact: the block is exactly the request (for weights, which live as long as the model and
  // are never asked for again); rounded: the request's size class (activations, caches).
  enum class Fit : std::uint8_t { rounded, exact };

  static std::shared_ptr<CudaAllocator> create(int device);
  ~CudaAllocator();
  CudaAllocator(const CudaAllocator&) = delete;
  CudaAllocator& operator=(const CudaAllocator&) = delete;

  // A block of at least `bytes` (a small one for 0), 256-byte aligned. When the device is full,
  // frees the cached blocks and tries once more; throws Error(internal) naming the size if that
  // fails too.
  void* allocate(std::size_t bytes, Fit fit = Fit::rounded);
  // Puts a block from allocate back on its free list.
  void release(void* block);
  // A block owned by the returned pointer: the last copy releases it. Each copy also keeps the
  // allocator alive, so tensors may outlive the backend that made them.
  std::shared_ptr<void> allocate_shared(std::size_t bytes, Fit fit = Fit::rounded);

  // Waits for the device, then returns every cached (free) block to the driver.
  void empty_cache();
  Stats stats() const;

  // The size class of a request: multiples of 512 bytes, eight classes per power of two (at
  // most 12.5% more than asked), in steps of at most 2 MiB for large blocks.
  static std::size_t rounded_size(std::size_t bytes);

 private:
  explicit CudaAllocator(int device) : device_(device) {}
  void free_cached_locked();

  int device_;
  mutable std::mutex mutex_;
  std::unordered_map<void*, std::size_t> live_;       // block -> its size
  std::map<std::size_t, std::vector<void*>> free_;    // size -> free blocks of that size
  Stats stats_;
};

}  // namespace tessera::runtime
