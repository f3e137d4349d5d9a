#pragma once
// Direct double-precision evaluations of the sampling formulas on small vocabularies: the
// independent side the sampler's results are checked against.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

namespace tessera::runtime::reference {

inline std::vector<double> softmax(const std::vector<double>& x) {
  const double max = *std::max_element(x.begin(), x.end());
  std::vector<double> p(x.size());
  double sum = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) sum += p[i] = std::exp(x[i] - max);
  for (double& v : p) v /= sum;
  return p;
}

inline std::vector<double> log_softmax(const std::vector<float>& logits) {
  const std::vector<double> x(logits.begin(), logits.end());
  std::vector<double> p = softmax(x);
  for (double& v : p) v = std::log(v);
  return p;
}

inline std::vector<float> logits_of(const std::vector<double>& probabilities, double shift = 0.0) {
  std::vector<float> logits;
  for (double p : probabilities) logits.push_back(static_cast<float>(std::log(p) + shift));
  return logits;
}

// Token ids by descending value, lower id first on ties.
inline std::vector<std::int32_t> ranked(const std::vector<double>& x) {
  std::vector<std::int32_t> ids(x.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(), [&](std::int32_t a, std::int32_t b) {
    return x[static_cast<std::size_t>(a)] > x[static_cast<std::size_t>(b)];
  });
  return ids;
}

// `p` restricted to `kept` and renormalised, as (id, probability) in increasing id order.
inline std::vector<std::pair<std::int32_t, double>> restrict(const std::vector<double>& p,
                                                             std::vector<std::int32_t> kept) {
  std::sort(kept.begin(), kept.end());
  double sum = 0.0;
  for (std::int32_t id : kept) sum += p[static_cast<std::size_t>(id)];
  std::vector<std::pair<std::int32_t, double>> out;
  for (std::int32_t id : kept) out.emplace_back(id, p[static_cast<std::size_t>(id)] / sum);
  return out;
}

}  // namespace tessera::runtime::reference
