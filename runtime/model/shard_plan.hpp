#pragma once
// How one model is split over a tensor-parallel group (Megatron style): q/k/v and gate/up are
// column-parallel (a rank owns whole heads and a block of intermediate features), o_proj and
// down_proj row-parallel (followed by an all-reduce), lm_head split over the vocabulary,
// embeddings and norms replicated. Decided once, with every divisibility checked up front.
#include <cstdint>

#include "runtime/model/model_config.hpp"

namespace tessera::runtime {

struct ShardPlan {
  int rank = 0;
  int world_size = 1;

  std::int64_t heads = 0;           // query heads on this rank
  std::int64_t head_begin = 0;      // global index of its first query head
  std::int64_t kv_heads = 0;        // key/value heads on this rank
  std::int64_t kv_head_begin = 0;   // global index of its first key/value head
  bool kv_replicated = false;       // more ranks than kv heads: ranks share copies
  std::int64_t intermediate = 0;    // MLP features on this rank
  std::int64_t intermediate_begin = 0;
  std::int64_t vocab = 0;           // lm_head rows on this rank
  std::int64_t vocab_begin = 0;

  // Throws Error(invalid_argument) naming the sizes that do not split over `world_size`.
  static ShardPlan make(const ModelConfig& config, int rank, int world_size);
};

}  // namespace tessera::runtime
