#pragma once
#include <cmath>
#include <cstdint>

namespace tessera::runtime {

// The attention heads one rank computes.
struct AttentionShape {
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;
  std::int64_t head_dim = 0;
  // What q·k is multiplied by before the softmax. Most models use 1/sqrt(head_dim); Gemma 3
  // uses query_pre_attn_scalar^-0.5, which differs from it.
  float attention_scale = 0.0f;  // 0: 1/sqrt(head_dim)

  float softmax_scale() const {
    return attention_scale != 0.0f ? attention_scale
                                   : 1.0f / std::sqrt(static_cast<float>(head_dim));
  }
  std::int64_t q_width() const { return heads * head_dim; }
  std::int64_t kv_width() const { return kv_heads * head_dim; }
  std::int64_t qkv_width() const { return q_width() + 2 * kv_width(); }
};

}  // namespace tessera::runtime
