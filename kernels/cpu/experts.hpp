#pragma once
#include <cstdint>

namespace tessera::kernels::cpu {

// One token's routing: p = softmax(logits[0 … num_experts)); the top_k largest p, equal values in
// order of expert index, written to experts[0 … top_k) with their p in weights (divided by the
// chosen p's sum when `normalize`).
void route_token(const float* logits, std::int64_t num_experts, std::int64_t top_k, bool normalize,
                 std::int32_t* experts, float* weights);

// The held experts first … first+count-1 of a mixture, laid out as ExpertWeights describes:
// gate_up [count·2·features, hidden], down [count·hidden, features].
struct HeldExperts {
  std::int64_t first = 0, count = 0, features = 0, hidden = 0;
  const float* gate_up = nullptr;
  const float* down = nullptr;
};

// out[t] (hidden wide, zeroed first) = Σ over the top_k experts chosen for token t that are held:
// weight · down_e(silu(gate_e·x[t]) ⊙ up_e·x[t]), experts[t·top_k + j] and weights[t·top_k + j]
// as route_token wrote them. Each held expert runs once, on the rows routed to it.
void mixture_of_experts(const float* x, std::int64_t tokens, const std::int32_t* experts,
                        const float* weights, std::int64_t top_k, const HeldExperts& held,
                        float* out);

// x[t, :] *= 1 / (1 + exp(-gate[t])) for each of `rows` rows of `width` values.
void scale_rows_by_sigmoid(float* x, std::int64_t rows, std::int64_t width, const float* gate);

}  // namespace tessera::kernels::cpu
