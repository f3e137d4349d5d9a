// The CUDA backend's expert family (ExpertOps): a mixture of experts routed, grouped and
// multiplied on the device (kernels/cuda/experts.cu), and the sigmoid gate on a shared expert.
// Like every operation they go through State::run, so recorded decode steps capture and replay
// them; the mixture's scratch comes from the step's pool (a graph's own while capturing), sized
// by the call's shape alone.
#include <cuda_bf16.h>

#include <climits>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "kernels/cuda/kernels.hpp"
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/backend/cuda_backend_state.hpp"
#include "runtime/backend/cuda_checks.hpp"

namespace tessera::runtime {
namespace kc = kernels::cuda;
using namespace cuda_checks;

namespace {

// The routing and the held experts, mixed into the `extra` of the operation's signature: a replay
// is checked against the values it was captured with, as well as the tensors.
std::int64_t mixture_key(const ExpertRouting& routing, const ExpertWeights& experts) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a offset basis, one word at a time
  for (const std::int64_t v : {routing.num_experts, routing.top_k,
                               std::int64_t{routing.normalize_top_k}, experts.first,
                               experts.count, experts.features}) {
    h ^= static_cast<std::uint64_t>(v);
    h *= 1099511628211ull;
  }
  return static_cast<std::int64_t>(h);
}

std::string text(std::int64_t v) { return std::to_string(v); }

void require_matrix(const Tensor& t, const char* what) {
  TESSERA_CUDA_REQUIRE(t.defined() && t.shape().size() == 2,
                       std::string(what) + " must be a matrix (got shape " +
                           (t.defined() ? shape_text(t.shape()) : std::string("undefined")) + ")");
}

// The checks the kernels rely on (kernels::cuda::mixture_of_experts_f32); returns the kernels'
// description of the call.
kc::ExpertMixture checked_mixture(const Tensor& x, const Tensor& router_logits,
                                  const ExpertRouting& routing, const ExpertWeights& experts,
                                  const Tensor& out) {
  require_matrix(x, "mixture_of_experts x");
  require_matrix(router_logits, "mixture_of_experts router_logits");
  require_matrix(out, "mixture_of_experts out");
  TESSERA_CUDA_REQUIRE(x.device() == Device::cuda &&
                           (x.dtype() == DType::f32 || x.dtype() == DType::bf16),
                       "mixture_of_experts x must be an F32 or BF16 tensor on the CUDA device "
                       "(got " + std::string(to_string(x.dtype())) + ")");
  f32_in(router_logits, "mixture_of_experts router_logits");
  f32_out(out, "mixture_of_experts out");
  const std::int64_t tokens = x.rows();
  const std::int64_t hidden = x.cols();
  TESSERA_CUDA_REQUIRE(routing.num_experts >= 1 && routing.num_experts <= INT_MAX,
                       "mixture_of_experts num_experts = " + text(routing.num_experts));
  TESSERA_CUDA_REQUIRE(routing.top_k >= 1 && routing.top_k <= routing.num_experts,
                       "mixture_of_experts top_k = " + text(routing.top_k) + " outside [1, " +
                           text(routing.num_experts) + "]");
  TESSERA_CUDA_REQUIRE(router_logits.rows() == tokens &&
                           router_logits.cols() == routing.num_experts,
                       "mixture_of_experts router_logits " + shape_text(router_logits.shape()) +
                           " for " + text(tokens) + " tokens of " + text(routing.num_experts) +
                           " experts");
  TESSERA_CUDA_REQUIRE(out.shape() == x.shape(), "mixture_of_experts out " +
                                                     shape_text(out.shape()) + " for x " +
                                                     shape_text(x.shape()));
  TESSERA_CUDA_REQUIRE(tokens * routing.top_k <= INT_MAX,
                       "mixture_of_experts of " + text(tokens) + " tokens by top_k " +
                           text(routing.top_k) + ": more (token, expert) pairs than an int");
  TESSERA_CUDA_REQUIRE(experts.first >= 0 && experts.count >= 0 &&
                           experts.first + experts.count <= routing.num_experts,
                       "mixture_of_experts holds experts " + text(experts.first) + " … " +
                           text(experts.first + experts.count - 1) + " of " +
                           text(routing.num_experts));
  TESSERA_CUDA_REQUIRE(experts.count <= kc::kMaxHeldExperts,
                       "mixture_of_experts holds " + text(experts.count) +
                           " experts; the CUDA kernels take at most " +
                           text(kc::kMaxHeldExperts));
  TESSERA_CUDA_REQUIRE(experts.features >= 0 && experts.features <= kc::kMaxExpertWidth &&
                           hidden <= kc::kMaxExpertWidth,
                       "mixture_of_experts of hidden " + text(hidden) + " and features " +
                           text(experts.features) + " (the CUDA kernels take up to " +
                           text(kc::kMaxExpertWidth) + ")");
  // load_weight holds every format as bf16; other formats would need their own kernels.
  for (const Weight* w : {&experts.gate_up, &experts.down}) {
    TESSERA_CUDA_REQUIRE(w->format == WeightFormat::bf16,
                         "mixture_of_experts of a " + std::string(to_string(w->format)) +
                             " weight");
    require_matrix(w->data, "mixture_of_experts weight");
  }
  const Tensor& gate_up = experts.gate_up.data;
  const Tensor& down = experts.down.data;
  TESSERA_CUDA_REQUIRE(gate_up.dim(0) == experts.count * 2 * experts.features &&
                           gate_up.dim(1) == hidden,
                       "mixture_of_experts gate_up " + shape_text(gate_up.shape()) + " for " +
                           text(experts.count) + " experts of " + text(experts.features) +
                           " features on hidden " + text(hidden) + " (want [" +
                           text(experts.count * 2 * experts.features) + ", " + text(hidden) +
                           "])");
  TESSERA_CUDA_REQUIRE(down.dim(0) == experts.count * hidden && down.dim(1) == experts.features,
                       "mixture_of_experts down " + shape_text(down.shape()) + " for " +
                           text(experts.count) + " experts of " + text(experts.features) +
                           " features on hidden " + text(hidden) + " (want [" +
                           text(experts.count * hidden) + ", " + text(experts.features) + "])");
  return {tokens,
          hidden,
          routing.num_experts,
          routing.top_k,
          routing.normalize_top_k,
          experts.first,
          experts.count,
          experts.features,
          bf16_in(gate_up, "mixture_of_experts gate_up"),
          bf16_in(down, "mixture_of_experts down")};
}

}  // namespace

void CudaBackend::mixture_of_experts(const Tensor& x, const Tensor& router_logits,
                                     const ExpertRouting& routing, const ExpertWeights& experts,
                                     Tensor& out) {
  state_->run(CudaOp::mixture_of_experts,
              {&x, &router_logits, &experts.gate_up.data, &experts.down.data, &out},
              mixture_key(routing, experts), [&](State& s) {
    const kc::ExpertMixture mixture = checked_mixture(x, router_logits, routing, experts, out);
    if (mixture.tokens == 0 || mixture.hidden == 0) return;
    // Fixed by the shape: a captured step and its replays use the same pool memory.
    const auto scratch = s.temporary(kc::mixture_of_experts_scratch_bytes(mixture));
    if (x.dtype() == DType::bf16) {
      kc::mixture_of_experts_f32(x.data<__nv_bfloat16>(), router_logits.data<float>(), mixture,
                                 scratch.get(), out.data<float>(), s.stream);
    } else {
      kc::mixture_of_experts_f32(x.data<float>(), router_logits.data<float>(), mixture,
                                 scratch.get(), out.data<float>(), s.stream);
    }
    check_launch("mixture_of_experts_f32");
  });
}

void CudaBackend::scale_rows_by_sigmoid(Tensor& x, const Tensor& gate_logits) {
  state_->run(CudaOp::scale_rows_by_sigmoid, {&x, &gate_logits}, [&](State& s) {
    float* x_data = f32_out(x, "scale_rows_by_sigmoid x");
    const float* gate_data = f32_in(gate_logits, "scale_rows_by_sigmoid gate_logits");
    TESSERA_CUDA_REQUIRE(gate_logits.numel() == x.rows() && gate_logits.cols() == 1,
                         "scale_rows_by_sigmoid of x " + shape_text(x.shape()) +
                             " by gate_logits " + shape_text(gate_logits.shape()) + " (want [" +
                             text(x.rows()) + ", 1])");
    kc::scale_rows_by_sigmoid_f32(x_data, x.rows(), x.cols(), gate_data, s.stream);
    check_launch("scale_rows_by_sigmoid_f32");
  });
}

}  // namespace tessera::runtime
