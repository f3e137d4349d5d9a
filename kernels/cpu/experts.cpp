#include "kernels/cpu/experts.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/cpu/activation.hpp"
#include "kernels/cpu/matmul.hpp"

namespace tessera::kernels::cpu {

void route_token(const float* logits, std::int64_t num_experts, std::int64_t top_k, bool normalize,
                 std::int32_t* experts, float* weights) {
  const float max_logit = *std::max_element(logits, logits + num_experts);
  std::vector<float> p(static_cast<std::size_t>(num_experts));
  float sum = 0.0f;
  for (std::int64_t e = 0; e < num_experts; ++e) {
    p[static_cast<std::size_t>(e)] = std::exp(logits[e] - max_logit);
    sum += p[static_cast<std::size_t>(e)];
  }
  std::vector<std::int32_t> order(static_cast<std::size_t>(num_experts));
  std::iota(order.begin(), order.end(), 0);
  // Stable: of equal probabilities the lower expert index comes first.
  std::stable_sort(order.begin(), order.end(), [&p](std::int32_t a, std::int32_t b) {
    return p[static_cast<std::size_t>(a)] > p[static_cast<std::size_t>(b)];
  });
  float chosen_sum = 0.0f;
  for (std::int64_t j = 0; j < top_k; ++j) {
    experts[j] = order[static_cast<std::size_t>(j)];
    weights[j] = p[static_cast<std::size_t>(experts[j])] / sum;
    chosen_sum += weights[j];
  }
  if (normalize) {
    for (std::int64_t j = 0; j < top_k; ++j) weights[j] /= chosen_sum;
  }
}

void mixture_of_experts(const float* x, std::int64_t tokens, const std::int32_t* experts,
                        const float* weights, std::int64_t top_k, const HeldExperts& held,
                        float* out) {
  const std::int64_t hidden = held.hidden;
  const std::int64_t features = held.features;
  std::fill(out, out + tokens * hidden, 0.0f);
  std::vector<std::int64_t> rows;  // (token, slot) pairs routed to the expert, as t·top_k + j
  std::vector<float> gathered, gate_up, activated, expert_out;
  for (std::int64_t local = 0; local < held.count; ++local) {
    const auto expert = static_cast<std::int32_t>(held.first + local);
    rows.clear();
    for (std::int64_t i = 0; i < tokens * top_k; ++i) {
      if (experts[i] == expert) rows.push_back(i);
    }
    if (rows.empty()) continue;
    const auto n = static_cast<std::int64_t>(rows.size());
    gathered.resize(static_cast<std::size_t>(n * hidden));
    for (std::int64_t r = 0; r < n; ++r) {
      const float* src = x + (rows[static_cast<std::size_t>(r)] / top_k) * hidden;
      std::copy(src, src + hidden, gathered.begin() + r * hidden);
    }
    gate_up.resize(static_cast<std::size_t>(n * 2 * features));
    activated.resize(static_cast<std::size_t>(n * features));
    expert_out.resize(static_cast<std::size_t>(n * hidden));
    linear(gathered.data(), n, hidden, held.gate_up + local * 2 * features * hidden, 2 * features,
           nullptr, gate_up.data());
    silu_mul(gate_up.data(), n, features, activated.data());
    linear(activated.data(), n, features, held.down + local * hidden * features, hidden, nullptr,
           expert_out.data());
    for (std::int64_t r = 0; r < n; ++r) {
      const std::int64_t pair = rows[static_cast<std::size_t>(r)];
      float* dst = out + (pair / top_k) * hidden;
      const float w = weights[pair];
      const float* y = expert_out.data() + r * hidden;
      for (std::int64_t h = 0; h < hidden; ++h) dst[h] += w * y[h];
    }
  }
}

void scale_rows_by_sigmoid(float* x, std::int64_t rows, std::int64_t width, const float* gate) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float factor = 1.0f / (1.0f + std::exp(-gate[r]));
    scale_inplace(x + r * width, factor, width);
  }
}

}  // namespace tessera::kernels::cpu
