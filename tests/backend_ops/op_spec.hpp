#pragma once
// One entry of the backend op conformance table: which shapes an op is tried on, how its inputs
// are generated, a reference written as plain loops, and how close each backend must come. The
// harness (conformance_test.cpp) runs every spec on every built backend: the CPU against the
// reference, CUDA against the CPU. Adding an op to the backends means adding a spec here.
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "runtime/backend/backend.hpp"

namespace tessera::backend_ops {

struct HostTensor {
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

// A case's inputs on the host. Activations go to the backend with upload() (f32); weights with
// load_weight() from a safetensors file in bf16, so their values are bf16-representable and every
// backend and the reference see exactly the same numbers.
struct OpInputs {
  std::vector<HostTensor> activations;
  std::vector<HostTensor> weights;
  std::vector<std::int32_t> ints;  // ids, positions or rows, when the op takes them
};

// The same inputs on one backend, in the same order.
struct OpTensors {
  std::vector<runtime::Tensor> activations;
  std::vector<runtime::Weight> weights;
};

// |actual - expected| <= abs + rel * |expected|, element by element.
struct Tolerance {
  double abs = 0.0;
  double rel = 0.0;
};

struct OpCase {
  std::string label;
  std::vector<std::int64_t> dims;  // what they mean is the spec's business (rows, width, heads…)
  float param = 0.0f;              // the op's scalar, when it has one (offset, factor, scale)
};

struct OpSpec {
  std::string name;
  std::vector<OpCase> cases;
  std::function<OpInputs(const OpCase&, std::mt19937&)> generate;
  // Calls the op on `backend`; returns what it wrote, outputs and in-place inputs alike, in the
  // order `reference` returns them.
  std::function<std::vector<runtime::Tensor>(runtime::Backend& backend, const OpCase&,
                                             const OpInputs&, OpTensors&)>
      run;
  std::function<std::vector<HostTensor>(const OpCase&, const OpInputs&)> reference;
  Tolerance cpu;   // the CPU backend against the reference
  Tolerance cuda;  // the CUDA backend against the CPU backend (bf16 weights, bf16 rounding)
  // Whether the op may run inside a recorded decode step with only activations and weights made
  // outside it (the graph replay check); ops that need a KV cache or host results do not.
  bool graph_replayable = true;
};

// The table: every Backend op.
const std::vector<OpSpec>& op_specs();
// The expert family's part of the table (expert_op_specs.cpp).
std::vector<OpSpec> expert_op_specs();

}  // namespace tessera::backend_ops
