#include "runtime/model/transformer.hpp"

#include <string>
#include <utility>

#include "runtime/core/error.hpp"
#include "runtime/model/rope_frequencies.hpp"
#include "runtime/model/weight_loader.hpp"

namespace tessera::runtime {
namespace {

std::string layer_prefix(std::int64_t index) {
  return "model.layers." + std::to_string(index) + ".";
}

}  // namespace

Transformer::Transformer(ModelConfig config, ShardPlan plan, const Checkpoint& checkpoint,
                         Backend& backend, Communicator& communicator)
    : config_(std::move(config)), plan_(plan), backend_(backend), communicator_(communicator) {
  check_plan();
  attention_shape_ = AttentionShape{plan_.heads, plan_.kv_heads, config_.head_dim};
  load_weights(checkpoint);
  const std::vector<float> inv_freq = rope_inverse_frequencies(config_.rope, config_.head_dim);
  inv_freq_ = backend_.upload(inv_freq, {static_cast<std::int64_t>(inv_freq.size())});
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
  plan_.require_group(communicator_.rank(), communicator_.size());
}

void Transformer::load_weights(const Checkpoint& checkpoint) {
  WeightLoader loader(checkpoint, backend_);
  const std::int64_t hidden = config_.hidden_size;
  const std::int64_t vocab = config_.vocab_size;
  embed_tokens_ = loader.whole("model.embed_tokens.weight", {vocab, hidden});
  final_norm_ = loader.whole("model.norm.weight", {hidden});
  // Tied models use the embedding as the output projection (HF ties them even when a checkpoint
  // also stores lm_head.weight).
  const std::string head_name =
      config_.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  lm_head_ = loader.stacked_rows({{head_name, {vocab, hidden}, plan_.vocab_begin, plan_.vocab}});
  for (std::int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    layers_.push_back(load_layer(checkpoint, i));
  }
}

Transformer::Layer Transformer::load_layer(const Checkpoint& checkpoint, std::int64_t index) {
  WeightLoader loader(checkpoint, backend_);
  const std::string p = layer_prefix(index);
  const std::string attn = p + "self_attn.";
  const std::string mlp = p + "mlp.";
  const std::int64_t hidden = config_.hidden_size;
  const std::int64_t head_dim = config_.head_dim;
  const std::int64_t q_rows = config_.num_attention_heads * head_dim;
  const std::int64_t kv_rows = config_.num_key_value_heads * head_dim;
  const std::int64_t q_begin = plan_.head_begin * head_dim;
  const std::int64_t kv_begin = plan_.kv_head_begin * head_dim;
  const std::int64_t inter = config_.intermediate_size;
  // Row-parallel biases are added once, by the group's first rank, before the all-reduce sums the
  // partial outputs.
  const bool owns_row_parallel_bias = plan_.tp_rank() == 0;

  Layer layer;
  layer.sliding_window = config_.layer_sliding_window.at(static_cast<std::size_t>(index));
  layer.input_norm = loader.whole(p + "input_layernorm.weight", {hidden});
  layer.post_attention_norm = loader.whole(p + "post_attention_layernorm.weight", {hidden});

  auto qkv_blocks = [&](const std::string& suffix, bool matrix) {
    auto shape = [&](std::int64_t rows) {
      return matrix ? std::vector<std::int64_t>{rows, hidden} : std::vector<std::int64_t>{rows};
    };
    return std::vector<WeightLoader::RowBlock>{
        {attn + "q_proj." + suffix, shape(q_rows), q_begin, attention_shape_.q_width()},
        {attn + "k_proj." + suffix, shape(kv_rows), kv_begin, attention_shape_.kv_width()},
        {attn + "v_proj." + suffix, shape(kv_rows), kv_begin, attention_shape_.kv_width()}};
  };
  layer.qkv = loader.stacked_rows(qkv_blocks("weight", true));
  if (config_.attention_bias) layer.qkv_bias = loader.stacked_rows(qkv_blocks("bias", false));
  if (config_.qk_norm) {
    layer.q_norm = loader.whole(attn + "q_norm.weight", {head_dim});
    layer.k_norm = loader.whole(attn + "k_norm.weight", {head_dim});
  }
  layer.o = loader.columns(attn + "o_proj.weight", {hidden, q_rows}, q_begin,
                           attention_shape_.q_width());
  if (config_.o_proj_bias && owns_row_parallel_bias) {
    layer.o_bias = loader.whole(attn + "o_proj.bias", {hidden});
  }

  auto gate_up_blocks = [&](const std::string& suffix, bool matrix) {
    const auto shape =
        matrix ? std::vector<std::int64_t>{inter, hidden} : std::vector<std::int64_t>{inter};
    return std::vector<WeightLoader::RowBlock>{
        {mlp + "gate_proj." + suffix, shape, plan_.intermediate_begin, plan_.intermediate},
        {mlp + "up_proj." + suffix, shape, plan_.intermediate_begin, plan_.intermediate}};
  };
  layer.gate_up = loader.stacked_rows(gate_up_blocks("weight", true));
  if (config_.mlp_bias) layer.gate_up_bias = loader.stacked_rows(gate_up_blocks("bias", false));
  layer.down = loader.columns(mlp + "down_proj.weight", {hidden, inter},
                              plan_.intermediate_begin, plan_.intermediate);
  if (config_.mlp_bias && owns_row_parallel_bias) {
    layer.down_bias = loader.whole(mlp + "down_proj.bias", {hidden});
  }
  return layer;
}

std::int64_t Transformer::parameter_count() const {
  auto count = [](const Tensor& t) { return t.defined() ? t.numel() : std::int64_t{0}; };
  std::int64_t total = count(embed_tokens_) + count(final_norm_) + count(lm_head_);
  for (const Layer& l : layers_) {
    for (const Tensor* t : {&l.input_norm, &l.post_attention_norm, &l.qkv, &l.qkv_bias, &l.q_norm,
                            &l.k_norm, &l.o, &l.o_bias, &l.gate_up, &l.gate_up_bias, &l.down,
                            &l.down_bias}) {
      total += count(*t);
    }
  }
  return total;
}

KvCache Transformer::allocate_cache(std::int64_t num_blocks, std::int64_t block_size) {
  KvCache cache;
  cache.num_blocks = num_blocks;
  cache.block_size = block_size;
  for (std::int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    const std::vector<std::int64_t> shape{num_blocks, block_size, attention_shape_.kv_heads,
                                          attention_shape_.head_dim};
    cache.layers.push_back({backend_.allocate_kv(shape), backend_.allocate_kv(shape)});
  }
  return cache;
}

void Transformer::all_reduce(Tensor& partial_sums) {
  if (communicator_.size() > 1) communicator_.all_reduce_sum(partial_sums);
}

void Transformer::attention_block(const Layer& layer, KvLayer& kv, std::int64_t block_size,
                                  const ForwardBatch& batch, const Tensor& normed, Tensor& out) {
  const std::int64_t tokens = normed.rows();
  Tensor qkv = backend_.allocate({tokens, attention_shape_.qkv_width()});
  backend_.linear(normed, layer.qkv, layer.qkv_bias.defined() ? &layer.qkv_bias : nullptr, qkv);
  if (config_.qk_norm) {
    backend_.qk_norm(qkv, attention_shape_, layer.q_norm, layer.k_norm,
                     static_cast<float>(config_.rms_norm_eps), 0.0f);
  }
  Tensor context = backend_.allocate_linear_input({tokens, attention_shape_.q_width()});
  backend_.rope_attention(qkv, attention_shape_, inv_freq_, kv, block_size, batch,
                          layer.sliding_window, context);
  backend_.linear(context, layer.o, layer.o_bias.defined() ? &layer.o_bias : nullptr, out);
  all_reduce(out);
}

void Transformer::mlp_block(const Layer& layer, const Tensor& normed, Tensor& out) {
  const std::int64_t tokens = normed.rows();
  Tensor gate_up = backend_.allocate({tokens, 2 * plan_.intermediate});
  backend_.linear(normed, layer.gate_up,
                  layer.gate_up_bias.defined() ? &layer.gate_up_bias : nullptr, gate_up);
  Tensor activated = backend_.allocate_linear_input({tokens, plan_.intermediate});
  backend_.silu_mul(gate_up, activated);
  backend_.linear(activated, layer.down, layer.down_bias.defined() ? &layer.down_bias : nullptr,
                  out);
  all_reduce(out);
}

Tensor Transformer::forward(const ForwardBatch& batch, KvCache& cache) {
  for (const std::int32_t id : batch.token_ids) {
    if (id < 0 || id >= config_.vocab_size) {
      throw Error(ErrorCategory::invalid_argument,
                  "token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                      std::to_string(config_.vocab_size) + ")");
    }
  }
  try {
    backend_.begin_step(batch, cache, communicator_.size() == 1);
    return backend_.end_step(forward_step(batch, cache));
  } catch (...) {
    backend_.abort_step();
    throw;
  }
}

Tensor Transformer::forward_step(const ForwardBatch& batch, KvCache& cache) {
  const auto tokens = static_cast<std::int64_t>(batch.token_ids.size());
  const std::int64_t hidden = config_.hidden_size;
  const auto eps = static_cast<float>(config_.rms_norm_eps);

  Tensor residual = backend_.allocate({tokens, hidden});
  backend_.embedding(embed_tokens_, batch.token_ids, residual);
  // normed, context and activated only feed products: the backend may keep them narrower.
  Tensor normed = backend_.allocate_linear_input({tokens, hidden});
  Tensor sublayer_out = backend_.allocate({tokens, hidden});
  backend_.rms_norm(residual, layers_.front().input_norm, eps, 0.0f, normed);
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const Layer& layer = layers_[i];
    attention_block(layer, cache.layers[i], cache.block_size, batch, normed, sublayer_out);
    backend_.add_rms_norm(residual, sublayer_out, layer.post_attention_norm, eps, 0.0f, normed);
    mlp_block(layer, normed, sublayer_out);
    if (i + 1 < layers_.size()) {
      backend_.add_rms_norm(residual, sublayer_out, layers_[i + 1].input_norm, eps, 0.0f,
                            normed);
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
  backend_.rms_norm(last_hidden, final_norm_, eps, 0.0f, last_normed);
  Tensor local_logits = backend_.allocate({sequences, plan_.vocab});
  backend_.linear(last_normed, lm_head_, nullptr, local_logits);
  if (communicator_.size() == 1) return local_logits;
  Tensor logits = backend_.allocate({sequences, config_.vocab_size});
  communicator_.gather_columns(local_logits, logits);
  return communicator_.rank() == 0 ? logits : local_logits;
}

}  // namespace tessera::runtime
