#include "runtime/model/transformer.hpp"

#include <string>
#include <utility>

#include "runtime/core/error.hpp"

namespace tessera::runtime {

Transformer::Transformer(ModelConfig config, ShardPlan plan, const Checkpoint& checkpoint,
                         Backend& backend, Communicator& communicator)
    : config_(std::move(config)), plan_(plan), backend_(backend), stage_(communicator) {
  check_plan();
  regroup();
  stack_ = ModelStack::load(config_, plan_, checkpoint, backend_);
}

void Transformer::regroup() {
  const ParallelLayout& layout = plan_.layout;
  tensor_parallel_subgroup_.reset();
  if (layout.tp() == layout.stage_size()) return;
  if (layout.tp() == 1) {
    tensor_parallel_subgroup_ = std::make_unique<SingleRankCommunicator>();
  } else {
    tensor_parallel_subgroup_ = stage_.split(layout.tp_group_color(plan_.rank.global_rank));
  }
}

Communicator& Transformer::tensor_parallel() const {
  return tensor_parallel_subgroup_ ? *tensor_parallel_subgroup_ : stage_;
}

void Transformer::check_plan() const {
  // Pipeline stages are laid out (ShardPlan::layers) but not executed yet: a rank computes every
  // layer, so a plan for part of them is refused rather than run as if it were the whole model.
  const LayerRange all{0, config_.num_hidden_layers};
  if (plan_.layers != all) {
    throw Error(ErrorCategory::unsupported,
                "rank " + std::to_string(plan_.rank.global_rank) + " of " +
                    plan_.layout.describe() + " holds layers " +
                    std::to_string(plan_.layers.begin) + "-" +
                    std::to_string(plan_.layers.end - 1) + " of " + std::to_string(all.end) +
                    "; pipeline stages are not executed yet (every rank runs the whole model)");
  }
  plan_.require_group(stage_.rank(), stage_.size());
}

std::int64_t Transformer::parameter_count() const { return stack_.parameter_count(); }

KvCache Transformer::allocate_cache(std::int64_t num_blocks, std::int64_t block_size) {
  KvCache cache;
  cache.num_blocks = num_blocks;
  cache.block_size = block_size;
  for (const DecoderLayer& layer : stack_.layers) {
    const AttentionShape& shape = layer.attention().shape();
    const std::vector<std::int64_t> kv_shape{num_blocks, block_size, shape.kv_heads,
                                             shape.head_dim};
    cache.layers.push_back({backend_.allocate_kv(kv_shape), backend_.allocate_kv(kv_shape)});
  }
  return cache;
}

Tensor Transformer::forward(const ForwardBatch& batch, KvCache& cache) {
  for (const std::int32_t id : batch.token_ids) {
    if (id < 0 || id >= config_.vocab_size) {
      throw Error(ErrorCategory::invalid_argument,
                  "token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                      std::to_string(config_.vocab_size) + ")");
    }
  }
  if (!batch.input_embeddings.empty() || batch.position_axes != 1) {
    throw Error(ErrorCategory::unsupported,
                config_.architecture + " takes token ids only: input embeddings and multi-axis "
                                       "positions are for vision models, not supported yet");
  }
  try {
    backend_.begin_step(batch, cache, stage_.size() == 1);
    return backend_.end_step(forward_step(batch, cache));
  } catch (...) {
    backend_.abort_step();
    throw;
  }
}

Tensor Transformer::forward_step(const ForwardBatch& batch, KvCache& cache) {
  const auto tokens = static_cast<std::int64_t>(batch.token_ids.size());
  const std::int64_t hidden = config_.hidden_size;
  Communicator& tp = tensor_parallel();
  const StepContext step{backend_, tp, stage_, batch, cache.block_size};

  Tensor residual = backend_.allocate({tokens, hidden});
  backend_.embedding(stack_.embed_tokens, batch.token_ids, residual);
  if (stack_.embedding_scale != 1.0f) backend_.scale(residual, stack_.embedding_scale);
  // normed only feeds products: the backend may keep it narrower.
  Tensor normed = backend_.allocate_linear_input({tokens, hidden});
  Tensor sublayer_out = backend_.allocate({tokens, hidden});
  const auto& layers = stack_.layers;
  layers.front().input_norm().apply(backend_, residual, normed);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    layers[i].forward(step, cache.layers[i], residual, normed, sublayer_out);
    // The layer's last add is fused with the next layer's input norm.
    if (i + 1 < layers.size()) {
      layers[i + 1].input_norm().add_then_apply(backend_, residual, sublayer_out, normed);
    } else {
      backend_.add(residual, sublayer_out);
    }
  }

  // Only each sequence's last token needs logits: normalise and project just those rows.
  std::vector<std::int64_t> last_rows;
  for (const SequenceInBatch& seq : batch.sequences) {
    last_rows.push_back(seq.first_token + seq.token_count - 1);
  }
  const auto sequences = static_cast<std::int64_t>(last_rows.size());
  Tensor last_hidden = backend_.allocate({sequences, hidden});
  backend_.gather_rows(residual, last_rows, last_hidden);
  Tensor last_normed = backend_.allocate_linear_input({sequences, hidden});
  stack_.final_norm.apply(backend_, last_hidden, last_normed);
  Tensor local_logits = backend_.allocate({sequences, plan_.vocab});
  backend_.linear(last_normed, stack_.lm_head, nullptr, local_logits);
  if (tp.size() == 1) return local_logits;
  Tensor logits = backend_.allocate({sequences, config_.vocab_size});
  tp.gather_columns(local_logits, logits);
  return tp.rank() == 0 ? logits : local_logits;
}

}  // namespace tessera::runtime
