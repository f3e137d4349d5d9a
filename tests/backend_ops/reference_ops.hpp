#pragma once
// The conformance harness's references: each op written as the plainest loops over host values,
// in double, from the op's definition in runtime/backend/backend.hpp, sharing no code with the
// backends or kernels.
#include <cmath>
#include <cstdint>
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

}  // namespace tessera::backend_ops::reference
