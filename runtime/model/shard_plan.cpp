#include "runtime/model/shard_plan.hpp"

#include <string>

#include "runtime/core/error.hpp"

namespace tessera::runtime {
namespace {

std::int64_t split(std::int64_t total, int tp, const char* what) {
  if (total % tp != 0) {
    throw Error(ErrorCategory::invalid_argument,
                std::to_string(total) + " " + what + " cannot split evenly over " +
                    std::to_string(tp) + " tensor-parallel ranks");
  }
  return total / tp;
}

}  // namespace

ShardPlan ShardPlan::make(const ModelConfig& config, const ParallelLayout& layout,
                          int global_rank) {
  ShardPlan plan;
  plan.layout = layout;
  plan.rank = layout.coordinates(global_rank);
  plan.layers = layout.layers_of_stage(plan.rank.pp_stage, config.num_hidden_layers);
  const int tp = layout.tp();
  const int index = plan.rank.tp_rank;
  plan.heads = split(config.num_attention_heads, tp, "query heads (num_attention_heads)");
  plan.head_begin = plan.heads * index;

  const std::int64_t kv = config.num_key_value_heads;
  if (kv % tp == 0) {
    plan.kv_heads = kv / tp;
    plan.kv_head_begin = plan.kv_heads * index;
  } else if (tp % kv == 0) {
    // Each kv head serves tp / kv consecutive ranks, whose query heads all belong to it.
    plan.kv_replicated = true;
    plan.kv_heads = 1;
    plan.kv_head_begin = index / (tp / kv);
  } else {
    throw Error(ErrorCategory::invalid_argument,
                std::to_string(kv) + " key/value heads (num_key_value_heads) can neither split "
                "over nor be replicated across " + std::to_string(tp) +
                " tensor-parallel ranks");
  }
  plan.intermediate = split(config.intermediate_size, tp, "MLP features (intermediate_size)");
  plan.intermediate_begin = plan.intermediate * index;
  plan.vocab = split(config.vocab_size, tp, "vocabulary entries (vocab_size)");
  plan.vocab_begin = plan.vocab * index;
  return plan;
}

void ShardPlan::require_group(int group_rank, int group_size) const {
  if (group_size == tp_size() && group_rank == tp_rank()) return;
  throw Error(ErrorCategory::invalid_argument,
              "the model is sharded as tensor-parallel rank " + std::to_string(tp_rank()) + " of " +
                  std::to_string(tp_size()) + " but the communicator is rank " +
                  std::to_string(group_rank) + " of " + std::to_string(group_size));
}

ShardPlan ShardPlan::make(const ModelConfig& config, int tp_rank, int tp) {
  const ParallelLayout layout = ParallelLayout::tensor_parallel(tp);
  return make(config, layout, tp_rank);
}

}  // namespace tessera::runtime
