#pragma once
// What the transformer asks of a device: memory for weights and activations, and the operations
// of a forward step. The transformer is written once against this interface; the CPU backend
// runs it with OpenBLAS in f32, the CUDA backend on a GPU.
//
// The operations come in families, one small interface each under runtime/backend/ops/:
// memory, norms, products and lookups, attention, elementwise, mixtures of experts, sampling,
// and the step brackets.
// Backend combines them, so callers hold one Backend& and call any operation on it. Every
// operation has a spec in tests/backend_ops/ that runs it on every built backend.
#include <span>
#include <string_view>
#include <vector>

#include "runtime/backend/ops/attention_ops.hpp"
#include "runtime/backend/ops/attention_shape.hpp"
#include "runtime/backend/ops/elementwise_ops.hpp"
#include "runtime/backend/ops/expert_ops.hpp"
#include "runtime/backend/ops/linear_ops.hpp"
#include "runtime/backend/ops/memory_ops.hpp"
#include "runtime/backend/ops/norm_ops.hpp"
#include "runtime/backend/ops/sampling_ops.hpp"
#include "runtime/backend/ops/step_brackets.hpp"

namespace tessera::runtime {

class Backend : public MemoryOps,
                public NormOps,
                public LinearOps,
                public AttentionOps,
                public ElementwiseOps,
                public ExpertOps,
                public SamplingOps,
                public StepBrackets {
 public:
  ~Backend() override = default;
  virtual std::string_view name() const = 0;

  // The default sampling copies the logits to the host (to_host, of the memory family) and
  // samples there; a backend that samples where the logits are overrides it.
  void sample_rows(const Tensor& logits, std::span<const RowSample> rows,
                   std::span<SampledToken> out) override {
    check_row_samples(logits.rows(), rows, out.size());
    if (rows.empty()) return;
    std::vector<float> host(static_cast<std::size_t>(logits.numel()));
    to_host(logits, host);
    sample_host_rows(host, logits.cols(), rows, out);
  }
};

}  // namespace tessera::runtime
