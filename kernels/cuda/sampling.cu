// Token sampling on the GPU: one block per row of logits, following the host sampler
// (runtime/sampling/token_sampler.hpp) step by step so that the two agree token for token:
//
// - penalties on a scratch copy of the row (the host computes each token's amounts; the device
//   divides, multiplies and subtracts with the same IEEE single-precision operations);
// - the argmax with the host's rules (first index on ties; NaN never wins, except that a NaN
//   first logit stays, as the host's loop keeps it);
// - unless greedy: top-k's k-th largest logit by radix select (ties with it kept), the weights
//   exp((logit - max) / temperature) in double rounded to float as on the host, top-p's border by
//   a radix select over the weights' probability mass, min-p, and one inverse-CDF draw in
//   increasing token id order;
// - the log-softmax of the raw logits and the top-n of them, when asked for.
//
// Probability masses are sums of 64-bit fixed-point numbers: round(weight · 2^45), the most
// likely token weighing exactly 2^45. Integer sums do not depend on their order, so a row's result
// is the same whatever the thread count or the other rows, shared-memory histograms can use
// atomics, and the draw's target floor(u · total) is exact. The quantisation (2^-46 of the most
// likely token's weight per token) is far below where a draw could notice it: a token of smaller
// weight than that is never drawn (the host would draw it with probability below 1e-8 per step).
#include <cmath>
#include <cstdint>

#include "kernels/cuda/sampling.hpp"

namespace tessera::kernels::cuda {
namespace {

using u64 = unsigned long long;

constexpr int kBlock = 512;
constexpr int kWarps = kBlock / 32;
constexpr unsigned kFull = 0xffffffffu;
constexpr int kBins = 2048;  // radix digits of 11, 11 and 10 bits
constexpr int kBinsPerThread = kBins / kBlock;
constexpr unsigned kNoBin = 0xffffffffu;
constexpr float kMassScale = 0x1p45f;

struct Shared {
  u64 bins[kBins];
  u64 warp_u64[kWarps];
  double warp_double[kWarps];
  float warp_value[kWarps];
  long long warp_index[kWarps];
  unsigned chosen_bin;
  u64 chosen_above;
  long long found;
  long long best_index;
  int list_count;
  int list[kSamplingMaxTopLogprobs];
};

__device__ inline int lane() { return static_cast<int>(threadIdx.x & 31u); }
__device__ inline int warp_index() { return static_cast<int>(threadIdx.x >> 5); }

// Floats as unsigned keys in the same order; NaN ranks as -inf and -0 as +0, as the host's
// ranks_before compares them.
__device__ inline unsigned ordered_key(float x) {
  if (isnan(x)) x = -INFINITY;
  const unsigned bits = x == 0.0f ? 0u : __float_as_uint(x);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

__device__ inline float from_ordered_key(unsigned key) {
  return __uint_as_float((key & 0x80000000u) ? (key & 0x7fffffffu) : ~key);
}

__device__ inline u64 mass(float weight) { return __float2ull_rn(weight * kMassScale); }

template <class T>
__device__ inline T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kFull, v, offset);
  return v;
}

__device__ inline u64 warp_inclusive_scan(u64 v) {
  for (int offset = 1; offset < 32; offset *= 2) {
    const u64 other = __shfl_up_sync(kFull, v, offset);
    if (lane() >= offset) v += other;
  }
  return v;
}

// In a fixed order (each thread's elements, then a fixed tree), so a double sum is reproducible
// too. `warp_totals` is the Shared array of T (warp_u64 or warp_double).
template <class T>
__device__ T block_sum(T v, T (&warp_totals)[kWarps]) {
  v = warp_sum(v);
  if (lane() == 0) warp_totals[warp_index()] = v;
  __syncthreads();
  T total = 0;
  for (int w = 0; w < kWarps; ++w) total += warp_totals[w];
  __syncthreads();
  return total;
}

__device__ u64 block_exclusive_scan(u64 v, Shared& sh) {
  const u64 inclusive = warp_inclusive_scan(v);
  if (lane() == 31) sh.warp_u64[warp_index()] = inclusive;
  __syncthreads();
  u64 offset = 0;
  for (int w = 0; w < warp_index(); ++w) offset += sh.warp_u64[w];
  __syncthreads();
  return offset + inclusive - v;
}

// The host argmax's order: larger first, NaN after every number, lower index on ties; index -1
// (nothing yet) after everything.
__device__ inline bool ranks_before(float a, long long ia, float b, long long ib) {
  if (ia < 0) return false;
  if (ib < 0) return true;
  const bool a_nan = isnan(a);
  const bool b_nan = isnan(b);
  if (a_nan != b_nan) return b_nan;
  if (!a_nan && a != b) return a > b;
  return ia < ib;
}

// Calls visit(j, values[j]) for this thread's elements (j = threadIdx.x + i · kBlock) in
// increasing order, loading kUnroll of them before using any: a single block reads a whole row,
// and only several loads in flight per thread keep its SM's memory pipe busy.
constexpr int kUnroll = 4;
template <class Visit>
__device__ inline void for_each_value(const float* values, long long n, Visit visit) {
  for (long long base = threadIdx.x; base < n; base += kBlock * kUnroll) {
    float v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const long long j = base + u * kBlock;
      v[u] = j < n ? values[j] : 0.0f;
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const long long j = base + u * kBlock;
      if (j < n) visit(j, v[u]);
    }
  }
}

__device__ long long block_argmax(const float* x, long long n, Shared& sh) {
  float best = 0.0f;
  long long at = -1;
  for_each_value(x, n, [&](long long j, float v) {
    if (ranks_before(v, j, best, at)) {
      best = v;
      at = j;
    }
  });
  for (int offset = 16; offset > 0; offset /= 2) {
    const float other = __shfl_xor_sync(kFull, best, offset);
    const long long other_at = __shfl_xor_sync(kFull, at, offset);
    if (ranks_before(other, other_at, best, at)) {
      best = other;
      at = other_at;
    }
  }
  if (lane() == 0) {
    sh.warp_value[warp_index()] = best;
    sh.warp_index[warp_index()] = at;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 0; w < kWarps; ++w) {
      if (ranks_before(sh.warp_value[w], sh.warp_index[w], best, at)) {
        best = sh.warp_value[w];
        at = sh.warp_index[w];
      }
    }
    // The host starts from index 0 and replaces it only by a larger value: a NaN there stays.
    sh.best_index = isnan(x[0]) ? 0 : at;
  }
  __syncthreads();
  return sh.best_index;
}

struct Selected {
  unsigned key = 0;
  u64 above = 0;  // the weight of the elements with a larger key
};

// Over values[0, n): the largest key K = key_of(value) such that the elements with key >= K
// weigh (weight_of(value)) at least `target` (> 0, and at most the row's total weight), by three
// histogram passes over the row, one per digit from the top. Elements of weight 0 take no part.
// With weight 1 each (kCounting) K is the target-th largest key, counting repeats.
template <bool kCounting, class KeyOf, class WeightOf>
__device__ Selected radix_select(const float* values, long long n, u64 target, Shared& sh,
                                 KeyOf key_of, WeightOf weight_of) {
  unsigned prefix = 0;
  unsigned mask = 0;
  u64 above = 0;
  for (int pass = 0; pass < 3; ++pass) {
    const int shift = pass == 0 ? 21 : pass == 1 ? 10 : 0;
    const unsigned digit_mask = pass == 2 ? 0x3ffu : 0x7ffu;
    for (int b = threadIdx.x; b < kBins; b += kBlock) sh.bins[b] = 0;
    if (threadIdx.x == 0) {
      sh.chosen_bin = 0;
      sh.chosen_above = above;
    }
    __syncthreads();
    // Every thread runs every iteration (the warp votes below need all lanes).
    for (long long base = 0; base < n; base += kBlock * kUnroll) {
      float v[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const long long j = base + u * kBlock + threadIdx.x;
        v[u] = j < n ? values[j] : 0.0f;
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const long long j = base + u * kBlock + threadIdx.x;
        unsigned bin = kNoBin;
        u64 weight = 0;
        if (j < n) {
          const unsigned key = key_of(v[u]);
          if ((key & mask) == prefix) {
            weight = weight_of(v[u]);
            if (weight != 0) bin = (key >> shift) & digit_mask;
          }
        }
        if constexpr (kCounting) {
          // Logits crowd into a few digits: one atomic per distinct digit in the warp.
          const unsigned peers = __match_any_sync(kFull, bin);
          if (bin != kNoBin && lane() == __ffs(peers) - 1) {
            atomicAdd(&sh.bins[bin], static_cast<u64>(__popc(peers)));
          }
        } else if (bin != kNoBin) {
          atomicAdd(&sh.bins[bin], weight);
        }
      }
    }
    __syncthreads();
    // Sums from the highest digit down: thread t holds digits kBins - 1 - (t * kBinsPerThread + i).
    u64 counts[kBinsPerThread];
    u64 local = 0;
    for (int i = 0; i < kBinsPerThread; ++i) {
      counts[i] = sh.bins[kBins - 1 - (static_cast<int>(threadIdx.x) * kBinsPerThread + i)];
      local += counts[i];
    }
    u64 running = above + block_exclusive_scan(local, sh);
    for (int i = 0; i < kBinsPerThread; ++i) {
      const u64 before = running;
      running += counts[i];
      if (before < target && running >= target) {  // exactly one digit, and not an empty one
        sh.chosen_bin = static_cast<unsigned>(kBins - 1 -
                                              (static_cast<int>(threadIdx.x) * kBinsPerThread + i));
        sh.chosen_above = before;
      }
    }
    __syncthreads();
    prefix |= sh.chosen_bin << shift;
    mask |= digit_mask << shift;
    above = sh.chosen_above;
    __syncthreads();
  }
  return {prefix, above};
}

// The smallest index whose running sum of weights (in index order, inclusive) exceeds
// `target`; -1 if the row's total does not. The row is cut into segments of 256 (at most kBins,
// as n < kSamplingMaxVocab): all warps sum segments into sh.bins, a block scan finds the segment
// holding the crossing, and one warp finds the index inside it.
template <class WeightOf>
__device__ long long first_crossing(long long n, u64 target, Shared& sh, WeightOf weight_of) {
  constexpr int kPerLane = 8;  // consecutive elements per lane: eight loads in flight
  constexpr long long kSegment = 32 * kPerLane;
  const long long segments = (n + kSegment - 1) / kSegment;
  for (long long segment = warp_index(); segment < segments; segment += kWarps) {
    const long long first = segment * kSegment + lane() * kPerLane;
    u64 sum = 0;
    for (int i = 0; i < kPerLane; ++i) {
      if (first + i < n) sum += weight_of(first + i);
    }
    sum = warp_sum(sum);
    if (lane() == 0) sh.bins[segment] = sum;
  }
  if (threadIdx.x == 0) {
    sh.found = -1;
    sh.chosen_bin = kNoBin;
  }
  __syncthreads();
  u64 sums[kBinsPerThread];
  u64 local = 0;
  for (int i = 0; i < kBinsPerThread; ++i) {
    const long long segment = static_cast<long long>(threadIdx.x) * kBinsPerThread + i;
    sums[i] = segment < segments ? sh.bins[segment] : 0;
    local += sums[i];
  }
  u64 running = block_exclusive_scan(local, sh);
  for (int i = 0; i < kBinsPerThread; ++i) {
    if (running <= target && target - running < sums[i]) {  // exactly one segment
      sh.chosen_bin = threadIdx.x * kBinsPerThread + i;
      sh.chosen_above = running;
    }
    running += sums[i];
  }
  __syncthreads();
  if (warp_index() == 0 && sh.chosen_bin != kNoBin) {
    const long long first = sh.chosen_bin * kSegment + lane() * kPerLane;
    u64 weights[kPerLane];
    u64 sum = 0;
    for (int i = 0; i < kPerLane; ++i) {
      weights[i] = first + i < n ? weight_of(first + i) : 0;
      sum += weights[i];
    }
    const u64 inclusive = sh.chosen_above + warp_inclusive_scan(sum);
    const unsigned hit = __ballot_sync(kFull, inclusive > target);
    if (hit != 0 && lane() == __ffs(hit) - 1) {
      u64 before = inclusive - sum;
      for (int i = 0; i < kPerLane; ++i) {
        before += weights[i];
        if (before > target) {
          sh.found = first + i;
          break;
        }
      }
    }
  }
  __syncthreads();
  const long long found = sh.found;
  __syncthreads();
  return found;
}

// exp((logit - max) / temperature) as the host computes it: the difference and the quotient in
// float, the exponential in double, rounded to float.
__device__ inline float weigh(float logit, float max, float temperature) {
  if (isnan(logit)) return 0.0f;
  const float scaled = __fdiv_rn(__fsub_rn(logit, max), temperature);
  return static_cast<float>(exp(static_cast<double>(scaled)));
}

// Temperature, top-k, top-p, min-p and the draw; `weights` receives the row's weights (it may be
// `penalized` itself: each element is read before it is overwritten, by the same thread).
__device__ long long draw(const SamplingRowTask& task, const float* penalized, float* weights,
                          long long n, float max, Shared& sh) {
  const bool top_k = task.top_k > 0;
  float kth = -INFINITY;
  if (top_k) {
    const Selected s = radix_select<true>(
        penalized, n, static_cast<u64>(task.top_k), sh, [](float x) { return ordered_key(x); },
        [](float) { return u64{1}; });
    kth = from_ordered_key(s.key);
  }
  u64 local = 0;
  // In place when weights == penalized: a thread loads its values before it stores their weights.
  for_each_value(penalized, n, [&](long long j, float x) {
    const float w = (!top_k || x >= kth) ? weigh(x, max, task.temperature) : 0.0f;
    weights[j] = w;
    local += mass(w);
  });
  const u64 total = block_sum(local, sh.warp_u64);  // also makes the weights visible to the block

  // Top-p keeps the most likely tokens (ties by lower id) while the mass before each is below
  // top_p · total: every token above the border weight, and the border weight's first few.
  const bool top_p = task.top_p < 1.0f;
  unsigned border = 0;
  long long last_tie = -1;
  if (top_p) {
    u64 target = static_cast<u64>(ceil(static_cast<double>(task.top_p) * static_cast<double>(total)));
    target = target < 1 ? 1 : target > total ? total : target;
    const Selected s = radix_select<false>(
        weights, n, target, sh, [](float w) { return __float_as_uint(w); },
        [](float w) { return mass(w); });
    border = s.key;
    const u64 each = mass(__uint_as_float(border));  // > 0: a chosen digit has mass
    const u64 ties = (target - s.above + each - 1) / each;
    last_tie = first_crossing(n, ties - 1, sh, [&](long long j) {
      return static_cast<u64>(__float_as_uint(weights[j]) == border);
    });
  }
  const float min_p = task.min_p;
  const auto survives = [&](long long j, float w) {
    if (!(w > 0.0f)) return false;
    if (top_p) {
      const unsigned key = __float_as_uint(w);
      if (key < border || (key == border && j > last_tie)) return false;
    }
    return !(min_p > 0.0f) || w >= min_p;  // min-p: weights are p / p_max already
  };
  local = 0;
  for_each_value(weights, n, [&](long long j, float w) {
    if (survives(j, w)) local += mass(w);
  });
  const u64 kept = block_sum(local, sh.warp_u64);
  // u = k / 2^53 exactly, so floor(u · kept) = (k · kept) >> 53, from the 128-bit product.
  const u64 k = static_cast<u64>(task.u * 0x1p53);
  const u64 target = (__umul64hi(k, kept) << 11) | ((k * kept) >> 53);
  return first_crossing(n, target, sh, [&](long long j) {
    const float w = weights[j];
    return survives(j, w) ? mass(w) : u64{0};
  });
}

// The log-softmax of the raw logits at `chosen`, and the top `top` of them (largest first, lower
// id on ties, NaN as -inf), as the host's log_sum_exp and top_n compute them.
__device__ void report_logprobs(const float* raw, long long n, long long chosen, int top,
                                Shared& sh, SamplingRowResult& result) {
  const long long at = block_argmax(raw, n, sh);
  const double max = raw[at];
  double lse = max;  // the host returns an infinite maximum as it is
  if (!isinf(max)) {
    double local = 0.0;
    for_each_value(raw, n, [&](long long, float x) { local += exp(static_cast<double>(x) - max); });
    lse = max + log(block_sum(local, sh.warp_double));
  }
  if (threadIdx.x == 0) result.logprob = static_cast<float>(static_cast<double>(raw[chosen]) - lse);
  if (top > kSamplingMaxTopLogprobs) top = kSamplingMaxTopLogprobs;
  if (top > n) top = static_cast<int>(n);
  if (top <= 0) {
    if (threadIdx.x == 0) result.top_count = 0;
    return;
  }
  const Selected s = radix_select<true>(
      raw, n, static_cast<u64>(top), sh, [](float x) { return ordered_key(x); },
      [](float) { return u64{1}; });
  // Of the logits equal to the top-th largest, the lowest ids complete the list.
  const long long last_tie = first_crossing(n, static_cast<u64>(top) - s.above - 1, sh,
                                            [&](long long j) {
                                              return static_cast<u64>(ordered_key(raw[j]) == s.key);
                                            });
  if (threadIdx.x == 0) sh.list_count = 0;
  __syncthreads();
  for (long long j = threadIdx.x; j < n; j += kBlock) {
    const unsigned key = ordered_key(raw[j]);
    if (key > s.key || (key == s.key && j <= last_tie)) {
      const int slot = atomicAdd(&sh.list_count, 1);
      if (slot < kSamplingMaxTopLogprobs) sh.list[slot] = static_cast<int>(j);
    }
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    const int count = sh.list_count < top ? sh.list_count : top;
    for (int i = 1; i < count; ++i) {  // insertion sort of at most 20
      const int id = sh.list[i];
      const unsigned key = ordered_key(raw[id]);
      int pos = i;
      while (pos > 0) {
        const int prev = sh.list[pos - 1];
        const unsigned prev_key = ordered_key(raw[prev]);
        if (prev_key > key || (prev_key == key && prev < id)) break;
        sh.list[pos] = prev;
        --pos;
      }
      sh.list[pos] = id;
    }
    for (int i = 0; i < count; ++i) {
      result.top_ids[i] = sh.list[i];
      result.top_logprobs[i] = static_cast<float>(static_cast<double>(raw[sh.list[i]]) - lse);
    }
    result.top_count = count;
  }
}

__global__ void __launch_bounds__(kBlock)
    sample_rows_kernel(const float* logits, long long vocab, const SamplingRowTask* tasks,
                       const SamplingPenalty* penalties, float* scratch,
                       SamplingRowResult* results) {
  __shared__ Shared sh;
  const SamplingRowTask task = tasks[blockIdx.x];
  SamplingRowResult& result = results[blockIdx.x];
  const float* raw = logits + task.row * vocab;
  float* work = task.scratch_row >= 0 ? scratch + task.scratch_row * vocab : nullptr;

  const float* penalized = raw;
  if (task.penalty_count > 0) {
    for (long long j = threadIdx.x; j < vocab; j += kBlock) work[j] = raw[j];
    __syncthreads();
    for (int i = threadIdx.x; i < task.penalty_count; i += kBlock) {
      const SamplingPenalty p = penalties[task.penalty_offset + i];
      float logit = work[p.id];
      if (p.repetition != 0) {
        logit = logit > 0.0f ? __fdiv_rn(logit, task.repetition_penalty)
                             : __fmul_rn(logit, task.repetition_penalty);
      }
      work[p.id] = __fsub_rn(logit, p.subtract);
    }
    __syncthreads();
    penalized = work;
  }

  const long long best = block_argmax(penalized, vocab, sh);
  const float max = penalized[best];
  if (!isfinite(max)) {  // the host throws here; so will the caller
    if (threadIdx.x == 0) {
      result.id = static_cast<std::int32_t>(best);
      result.status = kSamplingNoFiniteMaximum;
    }
    return;
  }
  long long chosen = best;
  if (task.greedy == 0) {
    chosen = draw(task, penalized, work, vocab, max, sh);
    if (chosen < 0) chosen = best;  // cannot happen: the most likely token always survives
  }
  if (task.logprobs != 0) report_logprobs(raw, vocab, chosen, task.top_logprobs, sh, result);
  if (threadIdx.x == 0) {
    result.id = static_cast<std::int32_t>(chosen);
    result.status = kSamplingOk;
  }
}

}  // namespace

void sample_rows_f32(const float* logits, std::int64_t vocab, const SamplingRowTask* tasks,
                     std::int64_t count, const SamplingPenalty* penalties, float* scratch,
                     SamplingRowResult* results, cudaStream_t stream) {
  if (count == 0) return;
  sample_rows_kernel<<<static_cast<unsigned>(count), kBlock, 0, stream>>>(
      logits, static_cast<long long>(vocab), tasks, penalties, scratch, results);
}

}  // namespace tessera::kernels::cuda
