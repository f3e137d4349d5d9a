#pragma once
// The conformance harness's references: each op written as the plainest loops over host values,
// in double, from the op's definition in runtime/backend/backend.hpp, sharing no code with the
// backends or kernels.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

namespace tessera::backend_ops::reference {

// rows × dim, each row / sqrt(mean(row²) + eps) · (offset + w).
inline std::vector<float> rms_norm(const std::vector<float>& x, std::int64_t dim,
                                   const std::vector<float>& w, double eps, double offset) {
  std::vector<float> out(x.size());
  for (std::size_t r = 0; r * dim < x.size(); ++r) {
    double sum = 0.0;
    for (std::int64_t j = 0; j < dim; ++j) sum += double(x[r * dim + j]) * x[r * dim + j];
    const double inv = 1.0 / std::sqrt(sum / double(dim) + eps);
    for (std::int64_t j = 0; j < dim; ++j) {
      out[r * dim + j] = static_cast<float>(x[r * dim + j] * inv * (offset + double(w[j])));
    }
  }
  return out;
}

// Each row of gate_up is gate (width values) then up; out = act(gate) · up.
template <class Activation>
std::vector<float> gated(const std::vector<float>& gate_up, std::int64_t width, Activation act) {
  const std::size_t rows = gate_up.size() / static_cast<std::size_t>(2 * width);
  std::vector<float> out(rows * static_cast<std::size_t>(width));
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < width; ++j) {
      const double gate = gate_up[r * 2 * width + j];
      const double up = gate_up[r * 2 * width + width + j];
      out[r * width + j] = static_cast<float>(act(gate) * up);
    }
  }
  return out;
}

inline double silu(double x) { return x / (1.0 + std::exp(-x)); }

inline double gelu_tanh(double x) {
  const double pi = 3.14159265358979323846;
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / pi) * (x + 0.044715 * x * x * x)));
}

// out[r, o] = Σ_k x[r, k] · w[o, k] (+ bias[o]).
inline std::vector<float> linear(const std::vector<float>& x, std::int64_t k,
                                 const std::vector<float>& w, std::int64_t m,
                                 const std::vector<float>* bias) {
  const std::size_t rows = x.size() / static_cast<std::size_t>(k);
  std::vector<float> out(rows * static_cast<std::size_t>(m));
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::int64_t o = 0; o < m; ++o) {
      double sum = bias ? double((*bias)[o]) : 0.0;
      for (std::int64_t j = 0; j < k; ++j) sum += double(x[r * k + j]) * w[o * k + j];
      out[r * m + o] = static_cast<float>(sum);
    }
  }
  return out;
}

// Rotate-half rotary embedding of the first `heads` heads of each row (row width `stride`).
inline void rope(std::vector<float>& x, std::int64_t stride, std::int64_t heads,
                 std::int64_t head_dim, const std::vector<std::int32_t>& positions,
                 const std::vector<float>& inv_freq) {
  const std::int64_t half = head_dim / 2;
  for (std::size_t t = 0; t < positions.size(); ++t) {
    for (std::int64_t h = 0; h < heads; ++h) {
      float* v = x.data() + t * stride + h * head_dim;
      for (std::int64_t i = 0; i < half; ++i) {
        const double angle = double(positions[t]) * inv_freq[i];
        const double a = v[i], b = v[i + half];
        v[i] = static_cast<float>(a * std::cos(angle) - b * std::sin(angle));
        v[i + half] = static_cast<float>(b * std::cos(angle) + a * std::sin(angle));
      }
    }
  }
}

// Causal attention of one sequence whose tokens are rows first … first + count - 1 of qkv (query
// heads, then key heads, then value heads per row), all at positions 0 … count - 1, into out.
inline void causal_attention(const std::vector<float>& qkv, std::int64_t first, std::int64_t count,
                             std::int64_t heads, std::int64_t kv_heads, std::int64_t head_dim,
                             double scale, std::vector<float>& out) {
  const std::int64_t stride = (heads + 2 * kv_heads) * head_dim;
  const std::int64_t group = heads / kv_heads;
  for (std::int64_t t = 0; t < count; ++t) {
    for (std::int64_t h = 0; h < heads; ++h) {
      const float* q = qkv.data() + (first + t) * stride + h * head_dim;
      const std::int64_t key_offset = (heads + h / group) * head_dim;
      const std::int64_t value_offset = (heads + kv_heads + h / group) * head_dim;
      std::vector<double> weights;
      double max_score = -INFINITY;
      for (std::int64_t s = 0; s <= t; ++s) {
        const float* k = qkv.data() + (first + s) * stride + key_offset;
        double dot = 0.0;
        for (std::int64_t j = 0; j < head_dim; ++j) dot += double(q[j]) * k[j];
        weights.push_back(dot * scale);
        max_score = std::max(max_score, weights.back());
      }
      double total = 0.0;
      for (double& w : weights) total += (w = std::exp(w - max_score));
      for (std::int64_t j = 0; j < head_dim; ++j) {
        double value = 0.0;
        for (std::int64_t s = 0; s <= t; ++s) {
          value += weights[s] / total * qkv[(first + s) * stride + value_offset + j];
        }
        out[(first + t) * heads * head_dim + h * head_dim + j] = static_cast<float>(value);
      }
    }
  }
}

// One token's routing (ExpertRouting): p = softmax(logits); the top_k largest p, equal values by
// lower expert index; divided by their sum when `normalize`. Returns (expert, weight) pairs.
inline std::vector<std::pair<std::int64_t, double>> route(const float* logits,
                                                          std::int64_t num_experts,
                                                          std::int64_t top_k, bool normalize) {
  const double max_logit = *std::max_element(logits, logits + num_experts);
  std::vector<double> p(static_cast<std::size_t>(num_experts));
  double total = 0.0;
  for (std::int64_t e = 0; e < num_experts; ++e) total += (p[e] = std::exp(logits[e] - max_logit));
  std::vector<std::int64_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&p](std::int64_t a, std::int64_t b) {
    return p[a] != p[b] ? p[a] > p[b] : a < b;
  });
  std::vector<std::pair<std::int64_t, double>> chosen;
  double chosen_total = 0.0;
  for (std::int64_t j = 0; j < top_k; ++j) {
    chosen.emplace_back(order[j], p[order[j]] / total);
    chosen_total += chosen.back().second;
  }
  if (normalize) {
    for (auto& [expert, w] : chosen) w /= chosen_total;
  }
  return chosen;
}

// ExpertOps::mixture_of_experts: x [tokens, hidden]; gate_up [count·2·features, hidden] (each
// held expert's gate rows, then its up rows); down [count·hidden, features]. A chosen expert
// outside first … first + count - 1 contributes nothing.
inline std::vector<float> mixture_of_experts(const std::vector<float>& x, std::int64_t hidden,
                                             const std::vector<float>& logits,
                                             std::int64_t num_experts, std::int64_t top_k,
                                             bool normalize, std::int64_t first,
                                             std::int64_t count, std::int64_t features,
                                             const std::vector<float>& gate_up,
                                             const std::vector<float>& down) {
  const std::size_t tokens = x.size() / static_cast<std::size_t>(hidden);
  std::vector<float> out(x.size(), 0.0f);
  std::vector<double> activated(static_cast<std::size_t>(features));
  for (std::size_t t = 0; t < tokens; ++t) {
    const float* row = x.data() + t * hidden;
    std::vector<double> sum(static_cast<std::size_t>(hidden), 0.0);
    for (const auto& [expert, w] : route(logits.data() + t * num_experts, num_experts, top_k,
                                         normalize)) {
      if (expert < first || expert >= first + count) continue;
      const std::int64_t local = expert - first;
      for (std::int64_t f = 0; f < features; ++f) {
        const float* gate = gate_up.data() + (local * 2 * features + f) * hidden;
        const float* up = gate + features * hidden;
        double g = 0.0, u = 0.0;
        for (std::int64_t k = 0; k < hidden; ++k) {
          g += double(gate[k]) * row[k];
          u += double(up[k]) * row[k];
        }
        activated[f] = g / (1.0 + std::exp(-g)) * u;
      }
      for (std::int64_t o = 0; o < hidden; ++o) {
        const float* w_row = down.data() + (local * hidden + o) * features;
        double y = 0.0;
        for (std::int64_t f = 0; f < features; ++f) y += double(w_row[f]) * activated[f];
        sum[o] += w * y;
      }
    }
    for (std::int64_t o = 0; o < hidden; ++o) out[t * hidden + o] = static_cast<float>(sum[o]);
  }
  return out;
}

}  // namespace tessera::backend_ops::reference
