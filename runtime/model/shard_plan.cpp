#include "runtime/model/shard_plan.hpp"

#include <string>

#include "runtime/core/error.hpp"

namespace tessera::runtime {
namespace {

std::int64_t split(std::int64_t total, int world_size, const char* what) {
  if (total % world_size != 0) {
    throw Error(ErrorCategory::invalid_argument,
                std::to_string(total) + " " + what + " cannot split evenly over " +
                    std::to_string(world_size) + " tensor-parallel ranks");
  }
  return total / world_size;
}

}  // namespace

ShardPlan ShardPlan::make(const ModelConfig& config, int rank, int world_size) {
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    throw Error(ErrorCategory::invalid_argument,
                "rank " + std::to_string(rank) + " is not in a group of " +
                    std::to_string(world_size));
  }
  ShardPlan plan;
  plan.rank = rank;
  plan.world_size = world_size;
  plan.heads = split(config.num_attention_heads, world_size, "query heads (num_attention_heads)");
  plan.head_begin = plan.heads * rank;

  const std::int64_t kv = config.num_key_value_heads;
  if (kv % world_size == 0) {
    plan.kv_heads = kv / world_size;
    plan.kv_head_begin = plan.kv_heads * rank;
  } else if (world_size % kv == 0) {
    // Each kv head serves world_size / kv consecutive ranks, whose query heads all belong to it.
    plan.kv_replicated = true;
    plan.kv_heads = 1;
    plan.kv_head_begin = rank / (world_size / kv);
  } else {
    throw Error(ErrorCategory::invalid_argument,
                std::to_string(kv) + " key/value heads (num_key_value_heads) can neither split "
                "over nor be replicated across " + std::to_string(world_size) +
                " tensor-parallel ranks");
  }
  plan.intermediate =
      split(config.intermediate_size, world_size, "MLP features (intermediate_size)");
  plan.intermediate_begin = plan.intermediate * rank;
  plan.vocab = split(config.vocab_size, world_size, "vocabulary entries (vocab_size)");
  plan.vocab_begin = plan.vocab * rank;
  return plan;
}

}  // namespace tessera::runtime
