// The expert family's specs (ExpertOps): mixture_of_experts on shapes that reach each CUDA path
// (one token, a few tokens, many tokens per expert; widths the 16-byte loads take and ones they
// do not; an expert-parallel slice that leaves some tokens without a held expert; exact ties in
// the router; x an f32 activation or a linear input, bf16 on CUDA), and scale_rows_by_sigmoid.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "tests/backend_ops/op_spec.hpp"
#include "tests/backend_ops/reference_ops.hpp"
#include "tests/backend_ops/spec_inputs.hpp"

namespace tessera::backend_ops {
namespace {

using runtime::Backend;
using runtime::ExpertRouting;
using runtime::ExpertWeights;
using runtime::Tensor;

// A mixture case's dims, by name.
struct MixtureShape {
  std::int64_t tokens, hidden, features, num_experts, top_k, first, count;
  bool ties;          // tokens 2 and 3 get router logits with exact ties (see router_logits)
  bool linear_input;  // x comes from rms_norm into allocate_linear_input, as a layer's would
};

constexpr float kEps = 1e-5f;

MixtureShape mixture_shape(const OpCase& c) {
  return {c.dims[0], c.dims[1], c.dims[2], c.dims[3], c.dims[4], c.dims[5], c.dims[6],
          c.dims[7] != 0, c.dims[8] != 0};
}

bool normalized(const OpCase& c) { return c.param != 0.0f; }

// Router logits with no near-ties: each token ranks the experts in a random order, a logit step
// of 0.5 apart (consecutive probabilities differ by a factor e^0.5), so bf16 rounding elsewhere
// cannot change which experts a backend picks. Token 0 picks experts 0 … top_k-1, token 1 the last
// expert then expert 0: with an expert-parallel slice of the upper experts, token 0 has none of
// its experts held and token 1 one of them. With `ties`, token 2's logits are all equal (it must
// pick experts 0 … top_k-1) and token 3's two largest are equal, at experts 4 and 1 (1 first).
HostTensor router_logits(const MixtureShape& m, std::mt19937& rng) {
  HostTensor logits{{m.tokens, m.num_experts},
                    std::vector<float>(static_cast<std::size_t>(m.tokens * m.num_experts))};
  std::vector<std::int64_t> order(static_cast<std::size_t>(m.num_experts));
  for (std::int64_t t = 0; t < m.tokens; ++t) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    if (t == 0) std::iota(order.begin(), order.end(), 0);
    if (t == 1) std::swap(*std::find(order.begin(), order.end(), 0), order[1]);
    if (t == 1) std::swap(*std::find(order.begin(), order.end(), m.num_experts - 1), order[0]);
    float* row = logits.values.data() + t * m.num_experts;
    for (std::size_t rank = 0; rank < order.size(); ++rank) {
      row[order[rank]] = 2.0f - 0.5f * static_cast<float>(rank);
    }
    if (m.ties && t == 2) std::fill(row, row + m.num_experts, 0.25f);
    if (m.ties && t == 3) {
      std::fill(row, row + m.num_experts, -1.0f);
      row[4] = row[1] = 1.5f;
    }
  }
  return logits;
}

OpSpec mixture_of_experts_spec() {
  OpSpec spec;
  spec.name = "mixture_of_experts";
  // dims {tokens, hidden, features, num_experts, top_k, first held, held count, ties,
  // linear input}; param 1: normalize the chosen weights.
  spec.cases = {
      {"1 token, top-2 of 8, all held, normalized", {1, 64, 32, 8, 2, 0, 8, 0, 0}, 1.0f},
      {"5 tokens, top-2 of 8, experts 4…7 held, ragged widths", {5, 60, 44, 8, 2, 4, 4, 0, 0},
       0.0f},
      {"3 tokens, top-1 of 4, normalized", {3, 32, 16, 4, 1, 0, 4, 0, 0}, 1.0f},
      {"4 tokens, top-3 of 6, exact ties", {4, 32, 24, 6, 3, 0, 6, 1, 0}, 0.0f},
      {"2 tokens, top-2 of 8, x a linear input", {2, 64, 32, 8, 2, 0, 8, 0, 1}, 1.0f},
      {"64 tokens, top-4 of 16, hidden 128, features 64", {64, 128, 64, 16, 4, 0, 16, 0, 0},
       1.0f},
      {"20 tokens, top-2 of 8, experts 2…5 held, ragged widths", {20, 40, 24, 8, 2, 2, 4, 0, 0},
       0.0f},
      {"80 tokens, top-2 of 4 (several tiles per expert)", {80, 32, 16, 4, 2, 0, 4, 0, 0}, 1.0f},
      {"24 tokens, top-2 of 8, x a linear input", {24, 64, 32, 8, 2, 0, 8, 0, 1}, 0.0f},
  };
  spec.generate = [](const OpCase& c, std::mt19937& rng) {
    const MixtureShape m = mixture_shape(c);
    // Scaled so each product sums to about unit size: outputs of order 1.
    const float gate_up_scale = 1.0f / std::sqrt(static_cast<float>(m.hidden));
    const float down_scale = 1.0f / std::sqrt(static_cast<float>(m.features));
    OpInputs in{{normal(rng, {m.tokens, m.hidden}), router_logits(m, rng)},
                {weight(rng, {m.count * 2 * m.features, m.hidden}, gate_up_scale),
                 weight(rng, {m.count * m.hidden, m.features}, down_scale)},
                {}};
    if (m.linear_input) in.weights.push_back(weight(rng, {m.hidden}, 0.3f, 1.0f));  // the norm's
    return in;
  };
  spec.run = [](Backend& b, const OpCase& c, const OpInputs&, OpTensors& t) {
    const MixtureShape m = mixture_shape(c);
    const ExpertRouting routing{m.num_experts, m.top_k, normalized(c)};
    const ExpertWeights experts{m.first, m.count, m.features, t.weights[0], t.weights[1]};
    Tensor x = t.activations[0];
    if (m.linear_input) {
      x = b.allocate_linear_input({m.tokens, m.hidden});
      b.rms_norm(t.activations[0], t.weights[2].data, kEps, 0.0f, x);
    }
    Tensor out = b.allocate({m.tokens, m.hidden});
    b.mixture_of_experts(x, t.activations[1], routing, experts, out);
    return std::vector<Tensor>{out};
  };
  spec.reference = [](const OpCase& c, const OpInputs& in) {
    const MixtureShape m = mixture_shape(c);
    const std::vector<float>& given = in.activations[0].values;
    const std::vector<float> x =
        m.linear_input ? reference::rms_norm(given, m.hidden, in.weights[2].values, kEps, 0.0)
                       : given;
    return std::vector<HostTensor>{
        {{m.tokens, m.hidden},
         reference::mixture_of_experts(x, m.hidden,
                                       in.activations[1].values, m.num_experts, m.top_k,
                                       normalized(c), m.first, m.count, m.features,
                                       in.weights[0].values, in.weights[1].values)}};
  };
  spec.cpu = {1e-5, 1e-4};
  // As linear's: CUDA rounds x, and the activation between the products, to bf16.
  spec.cuda = {1e-2, 1e-2};
  return spec;
}

// dims {rows, width}.
OpSpec scale_rows_by_sigmoid_spec() {
  OpSpec spec;
  spec.name = "scale_rows_by_sigmoid";
  spec.cases = {{"3x50", {3, 50}}, {"2x4096", {2, 4096}}};
  spec.generate = [](const OpCase& c, std::mt19937& rng) {
    return OpInputs{{normal(rng, {c.dims[0], c.dims[1]}), normal(rng, {c.dims[0], 1}, 3.0f)},
                    {},
                    {}};
  };
  spec.run = [](Backend& b, const OpCase&, const OpInputs&, OpTensors& t) {
    b.scale_rows_by_sigmoid(t.activations[0], t.activations[1]);
    return std::vector<Tensor>{t.activations[0]};
  };
  spec.reference = [](const OpCase& c, const OpInputs& in) {
    HostTensor x = in.activations[0];
    for (std::int64_t r = 0; r < c.dims[0]; ++r) {
      const double factor = 1.0 / (1.0 + std::exp(-double(in.activations[1].values[r])));
      for (std::int64_t j = 0; j < c.dims[1]; ++j) {
        float& v = x.values[r * c.dims[1] + j];
        v = static_cast<float>(v * factor);
      }
    }
    return std::vector<HostTensor>{x};
  };
  constexpr Tolerance kF32{1e-5, 1e-5};  // a sigmoid and a product per element, in f32
  spec.cpu = kF32;
  spec.cuda = {2e-5, 2e-5};
  return spec;
}

}  // namespace

std::vector<OpSpec> expert_op_specs() {
  std::vector<OpSpec> specs;
  specs.push_back(mixture_of_experts_spec());
  specs.push_back(scale_rows_by_sigmoid_spec());
  return specs;
}

}  // namespace tessera::backend_ops
