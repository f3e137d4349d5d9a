#include "kernels/cpu/sampling.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace tessera::kernels::cpu {

std::int64_t argmax(const float* values, std::int64_t count) {
  std::int64_t best = 0;
  for (std::int64_t i = 1; i < count; ++i) {
    if (values[i] > values[best]) best = i;
  }
  return best;
}

double log_sum_exp(const float* values, std::int64_t count) {
  const double max = values[argmax(values, count)];
  // exp(x - max) is NaN for an infinite max; the answer is the max itself there.
  if (std::isinf(max)) return max;
  double sum = 0.0;
  for (std::int64_t i = 0; i < count; ++i) sum += std::exp(static_cast<double>(values[i]) - max);
  return max + std::log(sum);
}

void sort_largest_first(const float* values, std::int32_t* ids, std::int64_t count,
                        std::int64_t n) {
  n = std::clamp<std::int64_t>(n, 0, count);
  const auto before = [values](std::int32_t a, std::int32_t b) {
    return ranks_before(values, a, b);
  };
  if (n < count) std::nth_element(ids, ids + n, ids + count, before);
  std::sort(ids, ids + n, before);
}

float kth_largest(const float* values, std::int64_t count, std::int64_t k, float* heap) {
  k = std::clamp<std::int64_t>(k, 1, count);
  constexpr float lowest = -std::numeric_limits<float>::infinity();
  const auto later = std::greater<float>();  // heap[0] is the smallest kept
  for (std::int64_t i = 0; i < k; ++i) heap[i] = std::isnan(values[i]) ? lowest : values[i];
  std::make_heap(heap, heap + k, later);
  for (std::int64_t i = k; i < count; ++i) {
    if (!(values[i] > heap[0])) continue;  // also skips NaN
    std::pop_heap(heap, heap + k, later);
    heap[k - 1] = values[i];
    std::push_heap(heap, heap + k, later);
  }
  return heap[0];
}

std::int64_t top_n(const float* values, std::int64_t count, std::int64_t n, std::int32_t* out) {
  n = std::clamp<std::int64_t>(n, 0, count);
  if (n == 0) return 0;
  std::int64_t size = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    const auto id = static_cast<std::int32_t>(i);
    // Most values lose against the current n-th and cost one comparison.
    if (size == n && !ranks_before(values, id, out[n - 1])) continue;
    std::int64_t pos = size < n ? size++ : n - 1;
    while (pos > 0 && ranks_before(values, id, out[pos - 1])) {
      out[pos] = out[pos - 1];
      --pos;
    }
    out[pos] = id;
  }
  return size;
}

}  // namespace tessera::kernels::cpu
