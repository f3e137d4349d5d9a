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

std::string number_of(std::int64_t count, const char* what) {
  return std::to_string(count) + " " + what;
}

// Places the experts of every mixture-of-experts layer, checking each layer's sizes.
void place_experts(const ModelConfig& config, ShardPlan& plan) {
  const ParallelLayout& layout = plan.layout;
  const int ep = layout.ep();
  bool any = false;
  for (const LayerSpec& layer : config.stack.layers) {
    if (!layer.moe) continue;
    const MoeSpec& moe = *layer.moe;
    if (moe.num_experts % ep != 0) {
      throw Error(ErrorCategory::invalid_argument,
                  number_of(moe.num_experts, "experts (num_experts)") +
                      " cannot be placed evenly over " +
                      std::to_string(ep) + " expert-parallel ranks (--ep)");
    }
    plan.expert_shards = layout.stage_size() / ep;
    if (moe.features % plan.expert_shards != 0) {
      throw Error(ErrorCategory::invalid_argument,
                  number_of(moe.features, "features of each expert") +
                      " cannot split evenly over the " + std::to_string(plan.expert_shards) +
                      " ranks that share each expert (" + layout.describe() + ")");
    }
    if (moe.shared_expert) {
      const std::int64_t shared = moe.shared_expert->mlp.features;
      split(shared, layout.tp(), "shared-expert features (shared_expert_intermediate_size)");
    }
    plan.experts = moe.num_experts / ep;
    any = true;
  }
  if (ep > 1 && !any) {
    throw Error(ErrorCategory::invalid_argument,
                "expert parallelism (ep " + std::to_string(ep) + ") needs a mixture-of-experts "
                "model; " + config.architecture + " has no experts");
  }
  plan.expert_begin = plan.experts * plan.rank.ep_rank;
  plan.expert_shard = plan.rank.ep_group;
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
  place_experts(config, plan);
  return plan;
}

void ShardPlan::require_group(int group_rank, int group_size) const {
  if (group_size == layout.stage_size() && group_rank == rank.stage_index) return;
  throw Error(ErrorCategory::invalid_argument,
              "the model is sharded as rank " + std::to_string(rank.stage_index) + " of " +
                  std::to_string(layout.stage_size()) + " (" + layout.describe() +
                  ") but the communicator is rank " + std::to_string(group_rank) + " of " +
                  std::to_string(group_size));
}

ShardPlan ShardPlan::make(const ModelConfig& config, int tp_rank, int tp) {
  const ParallelLayout layout = ParallelLayout::tensor_parallel(tp);
  return make(config, layout, tp_rank);
}

}  // namespace tessera::runtime
