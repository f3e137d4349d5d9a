#pragma once
// The paged key/value layout every backend's kernels share: for one layer, `k` and `v` are
// [num_blocks, block_size, kv_heads, head_dim] f32, and token slot s lives in block
// s / block_size at offset s % block_size.
#include <cstdint>

namespace tessera::kernels {

struct PagedKvLayer {
  float* k = nullptr;
  float* v = nullptr;
  std::int64_t block_size = 0;
  std::int64_t kv_heads = 0;
  std::int64_t head_dim = 0;
};

}  // namespace tessera::kernels
