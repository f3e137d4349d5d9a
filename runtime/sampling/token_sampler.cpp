#include "runtime/sampling/token_sampler.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/cpu/sampling.hpp"
#include "runtime/core/error.hpp"

namespace tessera::runtime {
namespace {

namespace cpu = kernels::cpu;

// Reused across calls on one thread: sampling runs once per generated token, and allocating
// vocabulary-sized buffers (150k entries) each time would cost as much as the arithmetic.
struct Scratch {
  // By token id: the penalised logits, then, in place, each token's unnormalised probability
  // exp((logit - max) / temperature), 0 for tokens a filter dropped.
  std::vector<float> weights;
  std::vector<std::int32_t> ids;     // the candidates, when not the whole vocabulary
  std::vector<float> heap;           // top-k's selection buffer
  std::vector<double> histogram;     // top-p's probability mass per band of weights
  std::vector<std::int32_t> border;  // top-p's candidates in the band holding the cut
};

Scratch& scratch() {
  thread_local Scratch buffers;
  return buffers;
}

// The tokens a draw chooses among: the whole vocabulary, or ids[0, count) in increasing id order.
struct Candidates {
  bool all = true;
  std::int64_t count = 0;
};

std::int64_t vocab_size(std::span<const float> logits) {
  if (logits.empty()) throw Error(ErrorCategory::invalid_argument, "no logits to sample from");
  if (logits.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    throw Error(ErrorCategory::invalid_argument, "more logits than 32-bit token ids can name");
  }
  return static_cast<std::int64_t>(logits.size());
}

[[noreturn]] void throw_no_finite_maximum() {
  throw Error(ErrorCategory::invalid_argument, "cannot sample: the largest logit is not finite");
}

// Copies the logits into the scratch buffer with the penalties applied; returns the argmax.
std::int32_t penalized_logits(Scratch& s, std::span<const float> logits,
                              const SamplingParams& params, const SamplingState& state) {
  s.weights.assign(logits.begin(), logits.end());
  apply_penalties(s.weights, params, state);
  const auto best = static_cast<std::int32_t>(
      cpu::argmax(s.weights.data(), static_cast<std::int64_t>(s.weights.size())));
  if (!std::isfinite(s.weights[static_cast<std::size_t>(best)])) throw_no_finite_maximum();
  return best;
}

template <typename Visit>
void for_each_candidate(const Scratch& s, const Candidates& c, Visit visit) {
  if (c.all) {
    const auto vocab = static_cast<std::int64_t>(s.weights.size());
    for (std::int64_t id = 0; id < vocab; ++id) visit(static_cast<std::int32_t>(id));
  } else {
    for (std::int64_t i = 0; i < c.count; ++i) visit(s.ids[static_cast<std::size_t>(i)]);
  }
}

double total_weight(const Scratch& s, const Candidates& c) {
  double total = 0.0;
  for_each_candidate(s, c,
                     [&](std::int32_t id) { total += s.weights[static_cast<std::size_t>(id)]; });
  return total;
}

// The nucleus of ids[0, count) (in increasing id order, and left so): most likely first, a
// token stays while the probability of those ranked before it is below top_p, that is while
// their weight is below `target` = top_p · total. HF's TopPLogitsWarper drops a token when the
// cumulative probability up to it, counted from the least likely side, is <= 1 - top_p: the same
// cut, and the most likely token always stays.
//
// Sorting 150k candidates per token would dominate sampling, so a long list goes through a
// histogram first: weights are in [0, 1], where a float's bits (shifted to keep the exponent
// and 7 mantissa bits) order buckets like the weights. The buckets' masses, from the top, locate
// the one bucket holding the cut; the buckets above it are kept whole and only that one (a
// 2^-7 relative band of weights) is sorted.
std::int64_t nucleus(Scratch& s, std::int64_t count, double target) {
  auto& ids = s.ids;
  const float* w = s.weights.data();
  const auto weight = [&](std::int32_t id) { return w[static_cast<std::size_t>(id)]; };
  const auto bucket = [&](std::int32_t id) {
    return std::bit_cast<std::uint32_t>(weight(id)) >> 16;
  };

  double before = 0.0;    // weight of the tokens known to rank before the border ones
  std::int64_t kept = 0;  // ids[0, kept): in the nucleus, in id order
  std::int64_t border_end = count;
  if (count > 1024) {
    s.histogram.assign(std::size_t{1} + (std::bit_cast<std::uint32_t>(1.0f) >> 16), 0.0);
    for (std::int64_t i = 0; i < count; ++i) {
      const std::int32_t id = ids[static_cast<std::size_t>(i)];
      s.histogram[bucket(id)] += weight(id);
    }
    std::uint32_t border = 0;
    double above = 0.0;
    for (std::size_t b = s.histogram.size(); b-- > 0;) {
      if (s.histogram[b] == 0.0) continue;
      border = static_cast<std::uint32_t>(b);
      if (above + s.histogram[b] >= target) break;
      above += s.histogram[b];
    }
    // Buckets above the border are kept (compacted in place, id order kept); the border bucket
    // follows them; lower buckets are dropped.
    s.border.clear();
    for (std::int64_t i = 0; i < count; ++i) {
      const std::int32_t id = ids[static_cast<std::size_t>(i)];
      const std::uint32_t b = bucket(id);
      if (b > border) {
        ids[static_cast<std::size_t>(kept++)] = id;
        before += weight(id);
      } else if (b == border) {
        s.border.push_back(id);
      }
    }
    std::copy(s.border.begin(), s.border.end(), ids.begin() + kept);
    border_end = kept + static_cast<std::int64_t>(s.border.size());
  }
  // The border tokens, most likely first, while those before them stay below the target.
  std::int32_t* border_ids = ids.data() + kept;
  const std::int64_t border_count = border_end - kept;
  cpu::sort_largest_first(w, border_ids, border_count, border_count);
  std::int64_t taken = 0;
  while (taken < border_count && before < target) before += weight(border_ids[taken++]);
  std::sort(border_ids, border_ids + taken);
  std::inplace_merge(ids.begin(), ids.begin() + kept, ids.begin() + kept + taken);
  return kept + taken;
}

// Temperature, top-k, top-p and min-p over the penalised logits, leaving the weights and the
// candidates in the scratch buffers.
Candidates select_candidates(Scratch& s, const SamplingParams& params, std::int32_t best) {
  const auto vocab = static_cast<std::int64_t>(s.weights.size());
  auto& w = s.weights;
  auto& ids = s.ids;

  // Like HF and vLLM, top-k keeps every token tied with the k-th largest value, so the kept set
  // never depends on how ties are broken. Temperature is monotone, so the logits rank the same.
  const bool top_k = params.top_k > 0 && params.top_k < vocab;
  float kth = -std::numeric_limits<float>::infinity();
  if (top_k) {
    s.heap.resize(static_cast<std::size_t>(params.top_k));
    kth = cpu::kth_largest(w.data(), vocab, params.top_k, s.heap.data());
  }

  // softmax(v / t) = softmax((v - max) / t): subtracting first keeps a tiny temperature from
  // overflowing to inf, and gives the most likely token weight exactly 1.
  const float max = w[static_cast<std::size_t>(best)];
  const float temperature = params.temperature;
  const auto weigh = [&](float logit) {
    if (std::isnan(logit)) return 0.0f;  // never drawn, and cannot poison the sums
    return static_cast<float>(std::exp(static_cast<double>((logit - max) / temperature)));
  };
  Candidates c{true, vocab};
  if (top_k) {
    ids.clear();
    for (std::int64_t id = 0; id < vocab; ++id) {
      float& x = w[static_cast<std::size_t>(id)];
      if (x >= kth) {
        ids.push_back(static_cast<std::int32_t>(id));
        x = weigh(x);
      } else {
        x = 0.0f;
      }
    }
    c = {false, static_cast<std::int64_t>(ids.size())};
  } else {
    for (float& x : w) x = weigh(x);
  }

  if (params.top_p < 1.0f) {
    // Probabilities over the top-k survivors, as HF renormalises after each filter.
    const double total = total_weight(s, c);
    if (c.all) {
      // Zero weights (underflow, -inf logits) can never be in the nucleus.
      ids.clear();
      for (std::int64_t id = 0; id < vocab; ++id) {
        if (w[static_cast<std::size_t>(id)] > 0.0f) ids.push_back(static_cast<std::int32_t>(id));
      }
      c = {false, static_cast<std::int64_t>(ids.size())};
    }
    c.count = nucleus(s, c.count, total * static_cast<double>(params.top_p));
  }

  if (params.min_p > 0.0f) {
    // HF drops p < min_p · p_max. A weight is p / p_max (the most likely token's weight is 1),
    // a ratio no renormalisation by the earlier filters changes.
    const float floor = params.min_p;
    if (c.all) {
      ids.clear();
      for (std::int64_t id = 0; id < vocab; ++id) {
        if (w[static_cast<std::size_t>(id)] >= floor) ids.push_back(static_cast<std::int32_t>(id));
      }
      c = {false, static_cast<std::int64_t>(ids.size())};
    } else {
      c.count =
          std::remove_if(ids.begin(), ids.begin() + c.count,
                         [&](std::int32_t id) { return w[static_cast<std::size_t>(id)] < floor; }) -
          ids.begin();
    }
  }
  return c;
}

// Inverse CDF in increasing token id order: the first candidate whose cumulative weight exceeds
// u · total. A zero-weight candidate can never be the first to exceed it.
std::int32_t draw(const Scratch& s, const Candidates& c, double u) {
  const double target = u * total_weight(s, c);
  double cumulative = 0.0;
  std::int32_t chosen = -1;
  std::int32_t last_positive = -1;
  for_each_candidate(s, c, [&](std::int32_t id) {
    if (chosen >= 0) return;
    const double weight = s.weights[static_cast<std::size_t>(id)];
    if (weight <= 0.0) return;
    last_positive = id;
    cumulative += weight;
    if (cumulative > target) chosen = id;
  });
  // The same sum in the same order gives the same total, so this only guards u · total rounding
  // up to the total.
  return chosen >= 0 ? chosen : last_positive;
}

}  // namespace

SampledToken sample_token(std::span<const float> logits, const SamplingParams& params,
                          SamplingState& state) {
  const std::int64_t vocab = vocab_size(logits);
  Scratch& s = scratch();
  SampledToken result;
  const bool penalized = params.repetition_penalty != 1.0f || params.frequency_penalty != 0.0f ||
                         params.presence_penalty != 0.0f;
  if (params.greedy() && !penalized) {
    // The common greedy case needs no copy of the logits.
    result.id = static_cast<std::int32_t>(cpu::argmax(logits.data(), vocab));
    if (!std::isfinite(logits[static_cast<std::size_t>(result.id)])) throw_no_finite_maximum();
  } else {
    const std::int32_t best = penalized_logits(s, logits, params, state);
    if (params.greedy()) {
      result.id = best;
    } else {
      const Candidates c = select_candidates(s, params, best);
      result.id = draw(s, c, uniform_draw(state.seed, state.draws));
      ++state.draws;
    }
  }
  state.record(result.id);

  if (params.logprobs) {
    // Of the model's own distribution, as the OpenAI API reports them: what the model thought of
    // the token, not what the penalties and filters made of it.
    const double lse = cpu::log_sum_exp(logits.data(), vocab);
    const auto logprob = [&](std::int32_t id) {
      return static_cast<float>(static_cast<double>(logits[static_cast<std::size_t>(id)]) - lse);
    };
    result.logprob = logprob(result.id);
    if (params.top_logprobs > 0) {
      std::int32_t top[20];
      const std::int64_t n =
          cpu::top_n(logits.data(), vocab, std::min<std::int64_t>(params.top_logprobs, 20), top);
      result.top_logprobs.reserve(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i)
        result.top_logprobs.emplace_back(top[i], logprob(top[i]));
    }
  }
  return result;
}

std::vector<std::pair<std::int32_t, double>> sampling_distribution(std::span<const float> logits,
                                                                   const SamplingParams& params,
                                                                   const SamplingState& state) {
  vocab_size(logits);
  Scratch& s = scratch();
  const std::int32_t best = penalized_logits(s, logits, params, state);
  if (params.greedy()) return {{best, 1.0}};
  const Candidates c = select_candidates(s, params, best);
  const double total = total_weight(s, c);
  std::vector<std::pair<std::int32_t, double>> distribution;
  for_each_candidate(s, c, [&](std::int32_t id) {
    const double w = s.weights[static_cast<std::size_t>(id)];
    if (w > 0.0) distribution.emplace_back(id, w / total);
  });
  return distribution;
}

}  // namespace tessera::runtime
