#include "runtime/kv/kv_cache.hpp"

#include "runtime/core/error.hpp"

namespace tessera::runtime {

BlockAllocator::BlockAllocator(std::int64_t num_blocks) : total_(num_blocks) {
  free_.reserve(static_cast<std::size_t>(num_blocks));
  // Highest first so that allocation, which pops from the back, hands out low ids first.
  for (std::int64_t b = num_blocks - 1; b >= 0; --b) free_.push_back(static_cast<std::int32_t>(b));
}

std::vector<std::int32_t> BlockAllocator::allocate(std::int64_t count) {
  if (count > free_blocks()) return {};
  std::vector<std::int32_t> out(free_.end() - count, free_.end());
  free_.resize(free_.size() - static_cast<std::size_t>(count));
  return out;
}

void BlockAllocator::release(const std::vector<std::int32_t>& blocks) {
  if (free_blocks() + static_cast<std::int64_t>(blocks.size()) > total_) {
    throw Error(ErrorCategory::internal, "KV blocks released twice: more free blocks than exist");
  }
  free_.insert(free_.end(), blocks.rbegin(), blocks.rend());
}

std::int64_t blocks_for_tokens(std::int64_t tokens, std::int64_t block_size) {
  return (tokens + block_size - 1) / block_size;
}

}  // namespace tessera::runtime
