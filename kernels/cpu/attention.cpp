#include "kernels/cpu/attention.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace tessera::kernels::cpu {
namespace {

std::int64_t slot_offset(const PagedKvLayer& kv, std::int64_t slot) {
  return slot * kv.kv_heads * kv.head_dim;
}

std::int64_t position_slot(const PagedKvLayer& kv, const std::int32_t* block_table,
                           std::int64_t position) {
  return static_cast<std::int64_t>(block_table[position / kv.block_size]) * kv.block_size +
         position % kv.block_size;
}

}  // namespace

void store_kv(const float* k_src, const float* v_src, std::int64_t tokens, std::int64_t stride,
              const std::int64_t* slots, const PagedKvLayer& kv) {
  const std::size_t row_bytes = static_cast<std::size_t>(kv.kv_heads * kv.head_dim) * sizeof(float);
  for (std::int64_t t = 0; t < tokens; ++t) {
    const std::int64_t offset = slot_offset(kv, slots[t]);
    std::memcpy(kv.k + offset, k_src + t * stride, row_bytes);
    std::memcpy(kv.v + offset, v_src + t * stride, row_bytes);
  }
}

void paged_attention(const float* q, std::int64_t q_tokens, std::int64_t q_stride,
                     const std::int32_t* positions, std::int64_t heads, const PagedKvLayer& kv,
                     const std::int32_t* block_table, std::int64_t window, float scale, float* out,
                     std::int64_t out_stride) {
  const std::int64_t group = heads / kv.kv_heads;
  const std::int64_t dim = kv.head_dim;
  std::vector<float> scores;
  std::vector<double> accumulator(static_cast<std::size_t>(dim));
  for (std::int64_t t = 0; t < q_tokens; ++t) {
    const std::int64_t last = positions[t];
    const std::int64_t first = window > 0 ? std::max<std::int64_t>(0, last - window + 1) : 0;
    scores.resize(static_cast<std::size_t>(last - first + 1));
    for (std::int64_t h = 0; h < heads; ++h) {
      const float* query = q + t * q_stride + h * dim;
      const std::int64_t kv_head_offset = (h / group) * dim;
      float max_score = -INFINITY;
      for (std::int64_t p = first; p <= last; ++p) {
        const float* key = kv.k + slot_offset(kv, position_slot(kv, block_table, p)) + kv_head_offset;
        float dot = 0.0f;
        for (std::int64_t j = 0; j < dim; ++j) dot += query[j] * key[j];
        const float score = dot * scale;
        scores[static_cast<std::size_t>(p - first)] = score;
        max_score = std::max(max_score, score);
      }
      double total = 0.0;
      for (float& s : scores) {
        s = std::exp(s - max_score);
        total += s;
      }
      std::fill(accumulator.begin(), accumulator.end(), 0.0);
      for (std::int64_t p = first; p <= last; ++p) {
        const float* value = kv.v + slot_offset(kv, position_slot(kv, block_table, p)) + kv_head_offset;
        const double weight = scores[static_cast<std::size_t>(p - first)];
        for (std::int64_t j = 0; j < dim; ++j) accumulator[j] += weight * value[j];
      }
      float* o = out + t * out_stride + h * dim;
      for (std::int64_t j = 0; j < dim; ++j) o[j] = static_cast<float>(accumulator[j] / total);
    }
  }
}

}  // namespace tessera::kernels::cpu
