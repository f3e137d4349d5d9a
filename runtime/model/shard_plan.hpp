#pragma once
// How one model is split over a rank's tensor-parallel group (Megatron style): q/k/v and gate/up
// are column-parallel (a rank owns whole heads and a block of intermediate features), o_proj and
// down_proj row-parallel (followed by an all-reduce), lm_head split over the vocabulary,
// embeddings and norms replicated. The layout says which group and which layers (its pipeline
// stage's); decided once, with every divisibility checked up front.
#include <cstdint>

#include "runtime/model/model_config.hpp"
#include "runtime/parallel/parallel_layout.hpp"

namespace tessera::runtime {

struct ShardPlan {
  ParallelLayout layout;
  RankCoordinates rank;  // this rank's place in the layout
  LayerRange layers;     // its pipeline stage's decoder layers

  std::int64_t heads = 0;           // query heads on this rank
  std::int64_t head_begin = 0;      // global index of its first query head
  std::int64_t kv_heads = 0;        // key/value heads on this rank
  std::int64_t kv_head_begin = 0;   // global index of its first key/value head
  bool kv_replicated = false;       // more ranks than kv heads: ranks share copies
  std::int64_t intermediate = 0;    // MLP features on this rank
  std::int64_t intermediate_begin = 0;
  std::int64_t vocab = 0;           // lm_head rows on this rank
  std::int64_t vocab_begin = 0;
  // Mixture-of-experts layers: whole experts are placed over the stage's ep ranks (this rank
  // holds experts expert_begin … expert_begin + experts - 1 of each such layer), and the
  // stage_size / ep ranks that hold the same experts split each expert's features, this rank
  // taking block expert_shard of expert_shards. Experts' outputs are summed over the stage.
  std::int64_t experts = 0;
  std::int64_t expert_begin = 0;
  int expert_shards = 1;
  int expert_shard = 0;

  int tp_rank() const { return rank.tp_rank; }
  int tp_size() const { return layout.tp(); }
  // Throws Error(invalid_argument) naming both unless a communicator that is rank `group_rank`
  // of `group_size` is this plan's stage: every rank of its pipeline stage (with tensor
  // parallelism alone, the tensor-parallel group).
  void require_group(int group_rank, int group_size) const;

  // The plan of `global_rank` in `layout`. Throws Error(invalid_argument) naming the sizes that
  // do not split over the layout's tp ranks, the experts that do not place evenly over its ep
  // ranks (or an ep above 1 for a model without experts), the rank outside the layout, or the
  // layers that cannot fill its stages.
  static ShardPlan make(const ModelConfig& config, const ParallelLayout& layout, int global_rank);
  // Shorthand for tensor parallelism alone: rank `tp_rank` of ParallelLayout::tensor_parallel(tp).
  static ShardPlan make(const ModelConfig& config, int tp_rank, int tp);
};

}  // namespace tessera::runtime
