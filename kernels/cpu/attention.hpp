#pragma once
#include <cstdint>

#include "kernels/paged_kv_layer.hpp"

namespace tessera::kernels::cpu {

// Writes the keys and values of `tokens` tokens (rows `stride` floats apart in k_src and v_src)
// into their slots.
void store_kv(const float* k_src, const float* v_src, std::int64_t tokens, std::int64_t stride,
              const std::int64_t* slots, const PagedKvLayer& kv);

// Causal attention of one sequence's query tokens over its cached keys and values.
// Query token t sits at positions[t] and sees positions max(0, p - window + 1) … p
// (window 0: all of 0 … p); the cache must already hold every position it sees.
// q rows are `q_stride` floats apart with `heads` heads each; heads share kv heads in groups
// (grouped-query attention). out rows are `out_stride` apart.
void paged_attention(const float* q, std::int64_t q_tokens, std::int64_t q_stride,
                     const std::int32_t* positions, std::int64_t heads, const PagedKvLayer& kv,
                     const std::int32_t* block_table, std::int64_t window, float scale, float* out,
                     std::int64_t out_stride);

}  // namespace tessera::kernels::cpu
