#pragma once
// The mixture-of-experts family of Backend: a layer's router picks, for each token, top_k of its
// experts; the experts this rank holds run on the tokens routed to them and their outputs are
// summed with the router's weights. Experts held by other ranks (expert parallelism) contribute
// there, and the caller sums the ranks' outputs.
#include <cstdint>

#include "runtime/backend/tensor.hpp"
#include "runtime/backend/weight.hpp"

namespace tessera::runtime {

// How a layer's router turns its logits into each token's experts and their weights:
// p = softmax(logits) over all num_experts; the top_k largest p are chosen, equal values in
// order of expert index (so no layout or backend can choose differently); with normalize_top_k
// the chosen p are divided by their sum (Mixtral, Qwen3-MoE), otherwise used as they are.
struct ExpertRouting {
  std::int64_t num_experts = 0;
  std::int64_t top_k = 0;
  bool normalize_top_k = false;
};

// The experts of one layer this rank holds, each a SiLU-gated MLP on `features` intermediate
// features (its block of them under tensor parallelism), stacked expert after expert.
struct ExpertWeights {
  std::int64_t first = 0;     // global index of the first expert held
  std::int64_t count = 0;     // experts first … first + count - 1
  std::int64_t features = 0;  // intermediate features of each expert on this rank
  Weight gate_up;             // [count·2·features, hidden]: each expert's gate rows, then its up rows
  Weight down;                // [count·hidden, features]: each expert's hidden rows
};

class ExpertOps {
 public:
  virtual ~ExpertOps() = default;

  // out[t] = Σ over token t's chosen experts e held here: w[t, e] · down_e(silu(gate_e·x[t]) ⊙
  // up_e·x[t]), with the experts and weights `routing` makes of router_logits[t]. x and out are
  // [tokens, hidden], router_logits [tokens, num_experts]. A token none of whose experts is held
  // here gets a row of zeros.
  virtual void mixture_of_experts(const Tensor& x, const Tensor& router_logits,
                                  const ExpertRouting& routing, const ExpertWeights& experts,
                                  Tensor& out) = 0;
  // x[t, :] *= sigmoid(gate_logits[t, 0]), in place: Qwen2-MoE's gate on its shared expert.
  // gate_logits is [tokens, 1].
  virtual void scale_rows_by_sigmoid(Tensor& x, const Tensor& gate_logits) = 0;
};

}  // namespace tessera::runtime
