#include "runtime/models/blocks/attention_block.hpp"

#include <string>
#include <utility>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/models/blocks/held_elements.hpp"

namespace tessera::runtime {

AttentionBlock::AttentionBlock(const AttentionSpec& spec, const ModelConfig& config,
                               const ShardPlan& plan, WeightLoader& loader, Tensor inv_freq)
    : window_(spec.window),
      norm_eps_(static_cast<float>(config.rms_norm_eps)),
      inv_freq_(std::move(inv_freq)) {
  const std::int64_t hidden = config.hidden_size;
  const std::int64_t head_dim = config.head_dim;
  shape_ = AttentionShape{plan.heads, plan.kv_heads, head_dim};
  shape_.attention_scale = spec.softmax_scale;
  const std::int64_t q_rows = config.num_attention_heads * head_dim;
  const std::int64_t kv_rows = config.num_key_value_heads * head_dim;
  const std::int64_t q_begin = plan.head_begin * head_dim;
  const std::int64_t kv_begin = plan.kv_head_begin * head_dim;

  auto qkv_blocks = [&](const std::string& suffix, bool matrix) {
    auto shape = [&](std::int64_t rows) {
      return matrix ? std::vector<std::int64_t>{rows, hidden} : std::vector<std::int64_t>{rows};
    };
    return std::vector<WeightLoader::RowBlock>{
        {spec.q + suffix, shape(q_rows), q_begin, shape_.q_width()},
        {spec.k + suffix, shape(kv_rows), kv_begin, shape_.kv_width()},
        {spec.v + suffix, shape(kv_rows), kv_begin, shape_.kv_width()}};
  };
  qkv_ = loader.stacked_rows(qkv_blocks(".weight", true));
  if (spec.qkv_bias) qkv_bias_ = loader.stacked_rows(qkv_blocks(".bias", false)).data;
  if (spec.q_norm.has_value() != spec.k_norm.has_value() ||
      (spec.q_norm && spec.q_norm->weight_offset != spec.k_norm->weight_offset)) {
    throw Error(ErrorCategory::internal, spec.q + ": q and k norms must come together, alike");
  }
  if (spec.q_norm) {
    q_norm_ = loader.whole(spec.q_norm->tensor, {head_dim}).data;
    k_norm_ = loader.whole(spec.k_norm->tensor, {head_dim}).data;
    norm_offset_ = spec.q_norm->weight_offset;
  }
  o_ = loader.columns(spec.o + ".weight", {hidden, q_rows}, q_begin, shape_.q_width());
  // A row-parallel bias is added once, by the group's first rank, before the all-reduce sums the
  // partial outputs.
  if (spec.o_bias && plan.tp_rank() == 0) o_bias_ = loader.whole(spec.o + ".bias", {hidden}).data;
}

void AttentionBlock::forward(const StepContext& step, KvLayer& kv, const Tensor& normed,
                             Tensor& out) const {
  Backend& backend = step.backend;
  const std::int64_t tokens = normed.rows();
  Tensor qkv = backend.allocate({tokens, shape_.qkv_width()});
  backend.linear(normed, qkv_, qkv_bias_.defined() ? &qkv_bias_ : nullptr, qkv);
  if (q_norm_.defined()) backend.qk_norm(qkv, shape_, q_norm_, k_norm_, norm_eps_, norm_offset_);
  Tensor context = backend.allocate_linear_input({tokens, shape_.q_width()});
  backend.rope_attention(qkv, shape_, inv_freq_, kv, step.block_size, step.batch, window_, context);
  backend.linear(context, o_, o_bias_.defined() ? &o_bias_ : nullptr, out);
  step.all_reduce(out);
}

std::int64_t AttentionBlock::parameter_count() const {
  return held_elements(qkv_) + held_elements(qkv_bias_) + held_elements(q_norm_) +
         held_elements(k_norm_) + held_elements(o_) + held_elements(o_bias_);
}

}  // namespace tessera::runtime
