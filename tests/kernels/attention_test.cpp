// The paged attention kernel against a direct computation of softmax(q·kᵀ/√d)·v written out here
// over contiguous arrays, for grouped heads, scattered blocks and a sliding window.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/attention.hpp"

namespace tessera::kernels::cpu {
namespace {

struct Problem {
  std::int64_t heads = 4, kv_heads = 2, dim = 8, length = 11, block_size = 3;
  std::vector<float> q, k, v;  // q: [length, heads, dim]; k, v: [length, kv_heads, dim]
};

Problem random_problem() {
  Problem p;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  auto fill = [&](std::vector<float>& x, std::int64_t n) {
    x.resize(static_cast<std::size_t>(n));
    for (float& value : x) value = normal(rng);
  };
  fill(p.q, p.length * p.heads * p.dim);
  fill(p.k, p.length * p.kv_heads * p.dim);
  fill(p.v, p.length * p.kv_heads * p.dim);
  return p;
}

// Reference: query position t, head h, attending to positions [first, t].
std::vector<double> direct_attention(const Problem& p, std::int64_t t, std::int64_t h,
                                     std::int64_t first) {
  const std::int64_t kvh = h / (p.heads / p.kv_heads);
  std::vector<double> weights;
  for (std::int64_t s = first; s <= t; ++s) {
    double dot = 0.0;
    for (std::int64_t j = 0; j < p.dim; ++j) {
      dot += double(p.q[(t * p.heads + h) * p.dim + j]) * p.k[(s * p.kv_heads + kvh) * p.dim + j];
    }
    weights.push_back(std::exp(dot / std::sqrt(double(p.dim))));
  }
  double total = 0.0;
  for (double w : weights) total += w;
  std::vector<double> out(static_cast<std::size_t>(p.dim), 0.0);
  for (std::int64_t s = first; s <= t; ++s) {
    for (std::int64_t j = 0; j < p.dim; ++j) {
      out[j] += weights[s - first] / total * p.v[(s * p.kv_heads + kvh) * p.dim + j];
    }
  }
  return out;
}

void check(std::int64_t window) {
  const Problem p = random_problem();
  const std::vector<std::int32_t> block_table{3, 0, 2, 1};  // scattered, out of order
  std::vector<float> k_cache(4 * p.block_size * p.kv_heads * p.dim, NAN);
  std::vector<float> v_cache(k_cache.size(), NAN);
  const PagedKvLayer kv{k_cache.data(), v_cache.data(), p.block_size, p.kv_heads, p.dim};
  std::vector<std::int64_t> slots;
  std::vector<std::int32_t> positions;
  for (std::int64_t t = 0; t < p.length; ++t) {
    slots.push_back(block_table[t / p.block_size] * p.block_size + t % p.block_size);
    positions.push_back(static_cast<std::int32_t>(t));
  }
  store_kv(p.k.data(), p.v.data(), p.length, p.kv_heads * p.dim, slots.data(), kv);
  std::vector<float> out(p.q.size());
  paged_attention(p.q.data(), p.length, p.heads * p.dim, positions.data(), p.heads, kv,
                  block_table.data(), window, 1.0f / std::sqrt(float(p.dim)), out.data(),
                  p.heads * p.dim);
  for (std::int64_t t = 0; t < p.length; ++t) {
    const std::int64_t first = window > 0 ? std::max<std::int64_t>(0, t - window + 1) : 0;
    for (std::int64_t h = 0; h < p.heads; ++h) {
      const auto expected = direct_attention(p, t, h, first);
      for (std::int64_t j = 0; j < p.dim; ++j) {
        EXPECT_NEAR(out[(t * p.heads + h) * p.dim + j], expected[j], 1e-5)
            << "t=" << t << " h=" << h << " window=" << window;
      }
    }
  }
}

TEST(PagedAttention, MatchesDirectComputation) { check(0); }
TEST(PagedAttention, SlidingWindowSeesOnlyTheLastPositions) { check(4); }
TEST(PagedAttention, WindowLongerThanSequenceIsFullAttention) { check(64); }

}  // namespace
}  // namespace tessera::kernels::cpu
