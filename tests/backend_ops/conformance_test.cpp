// Every op of the table (op_specs.cpp) on every built backend: the CPU backend against the
// plain-loop references, the CUDA backend (skipped without a GPU) against the CPU backend on the
// same inputs.
#include <gtest/gtest.h>

#include <cctype>
#include <ostream>
#include <random>

#include "tests/backend_ops/op_harness.hpp"
#include "tests/backend_ops/op_spec.hpp"

namespace tessera::backend_ops {
namespace {

struct Param {
  std::size_t spec = 0;
  std::string backend;
};

void PrintTo(const Param& p, std::ostream* os) {
  *os << op_specs()[p.spec].name << " on " << p.backend;
}

std::vector<Param> all_params() {
  std::vector<Param> params;
  for (const std::string& backend : built_backends()) {
    for (std::size_t i = 0; i < op_specs().size(); ++i) params.push_back({i, backend});
  }
  return params;
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  std::string name = info.param.backend + "_" + op_specs()[info.param.spec].name;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class OpConformance : public ::testing::TestWithParam<Param> {};

TEST_P(OpConformance, MatchesTheReference) {
  const OpSpec& spec = op_specs()[GetParam().spec];
  auto backend = make_backend(GetParam().backend);
  if (!backend) GTEST_SKIP() << "no " << GetParam().backend << " device";
  const bool is_cpu = GetParam().backend == "cpu";
  auto cpu = make_backend("cpu");
  std::mt19937 rng(17);
  for (const OpCase& c : spec.cases) {
    SCOPED_TRACE(spec.name + ", " + c.label);
    const OpInputs inputs = spec.generate(c, rng);
    OpTensors placed = place(*backend, inputs);
    const auto actual = to_host(*backend, spec.run(*backend, c, inputs, placed));
    if (is_cpu) {
      expect_close(spec.name + " (" + c.label + ") on cpu vs reference", actual,
                   spec.reference(c, inputs), spec.cpu);
    } else {
      OpTensors on_cpu = place(*cpu, inputs);
      const auto expected = to_host(*cpu, spec.run(*cpu, c, inputs, on_cpu));
      expect_close(spec.name + " (" + c.label + ") on " + GetParam().backend + " vs cpu", actual,
                   expected, spec.cuda);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryBackend, OpConformance, ::testing::ValuesIn(all_params()),
                         param_name);

TEST(OpTable, EveryOpOfTheBackendHasASpec) {
  // The Backend ops with a spec; sample_rows has its own tests (tests/runtime/sampling and
  // tests/backend_cuda/cuda_sampling_test.cpp), the memory ops are exercised by every spec.
  const std::vector<std::string> expected = {
      "embedding", "rms_norm", "add_rms_norm", "qk_norm", "linear", "rope", "attention",
      "rope_attention", "silu_mul", "gelu_tanh_mul", "scale", "add", "gather_rows",
      "argmax_rows", "mixture_of_experts", "scale_rows_by_sigmoid"};
  for (const std::string& op : expected) {
    bool found = false;
    for (const OpSpec& spec : op_specs()) found = found || spec.name == op;
    EXPECT_TRUE(found) << "no spec for " << op;
  }
}

}  // namespace
}  // namespace tessera::backend_ops
