#pragma once
// Host-side reductions over one row of logits, used by the token sampler.
#include <cmath>
#include <cstdint>
#include <limits>

namespace tessera::kernels::cpu {

// Index of the largest value; the first one on ties, as torch.argmax.
std::int64_t argmax(const float* values, std::int64_t count);

// log(sum(exp(values))), summed in double around the maximum so that large logits neither
// overflow nor lose the small terms. -inf when every value is -inf; count must be > 0.
double log_sum_exp(const float* values, std::int64_t count);

// The order every selection below uses: larger value first, lower index first on ties, NaN
// ranked as -inf. It is total, so "the n largest" is one well-defined set, whatever the
// algorithm or the order the candidates arrive in.
inline bool ranks_before(const float* values, std::int32_t a, std::int32_t b) {
  constexpr float lowest = -std::numeric_limits<float>::infinity();
  const float va = std::isnan(values[a]) ? lowest : values[a];
  const float vb = std::isnan(values[b]) ? lowest : values[b];
  return va > vb || (va == vb && a < b);
}

// Reorders the `count` ids so that the first `n` are the n largest by `ranks_before`, in that
// order; the rest keep no particular order. O(count + n log n): only the prefix a caller walks
// gets sorted.
void sort_largest_first(const float* values, std::int32_t* ids, std::int64_t count, std::int64_t n);

// The k-th largest value, counting repeats (NaN ranks lowest); 1 <= k <= count. `heap` is scratch
// for k floats. Keeps a min-heap of the k largest so far: most values lose against its top in one
// comparison, so for the k of top-k sampling this costs about one pass over the values, well
// below a copy and an nth_element; O(count log k) at worst.
float kth_largest(const float* values, std::int64_t count, std::int64_t k, float* heap);

// Writes the indices of the min(n, count) largest values to `out`, largest first (ties by lower
// index), and returns how many. Meant for small n (top log-probabilities, n <= 20): one pass,
// no index buffer, O(count · n) only when values keep arriving in increasing order.
std::int64_t top_n(const float* values, std::int64_t count, std::int64_t n, std::int32_t* out);

}  // namespace tessera::kernels::cpu
