#pragma once
// Paged key/value storage of one rank: for every layer, K and V tensors of
// [num_blocks, block_size, local_kv_heads, head_dim] allocated on the backend's device.
// Which sequence owns which block is decided outside (see BlockAllocator).
#include <cstdint>
#include <vector>

#include "runtime/backend/tensor.hpp"

namespace tessera::runtime {

struct KvLayer {
  Tensor k;
  Tensor v;
};

struct KvCache {
  std::int64_t num_blocks = 0;
  std::int64_t block_size = 0;
  std::vector<KvLayer> layers;
};

// Hands out cache blocks and takes them back. Not thread-safe: one owner (the scheduler).
class BlockAllocator {
 public:
  explicit BlockAllocator(std::int64_t num_blocks);
  std::int64_t free_blocks() const { return static_cast<std::int64_t>(free_.size()); }
  std::int64_t total_blocks() const { return total_; }
  // `count` blocks, or an empty vector when fewer are free (nothing is taken then).
  std::vector<std::int32_t> allocate(std::int64_t count);
  void release(const std::vector<std::int32_t>& blocks);

 private:
  std::int64_t total_;
  std::vector<std::int32_t> free_;
};

std::int64_t blocks_for_tokens(std::int64_t tokens, std::int64_t block_size);

}  // namespace tessera::runtime
