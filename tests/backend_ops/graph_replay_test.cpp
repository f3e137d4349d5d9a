// Under the CUDA backend's recorded decode steps (captured the second time a step's shape is
// seen, replayed from the third), every op that may run in one gives bit for bit what it gives
// eagerly on the same inputs. A recorded step replays what was captured, so an op whose launch
// skipped the recording would show here as a stale or missing result.
#include <gtest/gtest.h>

#include <cctype>
#include <random>

#include "tests/backend_ops/op_harness.hpp"
#include "tests/backend_ops/op_spec.hpp"
#if TESSERA_HAS_CUDA
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/core/error.hpp"
#endif

namespace tessera::backend_ops {
namespace {

#if TESSERA_HAS_CUDA

using runtime::Backend;
using runtime::CudaBackend;
using tessera::Error;
using runtime::ForwardBatch;
using runtime::KvCache;
using runtime::Tensor;

class GraphReplay : public ::testing::TestWithParam<std::size_t> {};

TEST_P(GraphReplay, EveryRoundEqualsTheEagerResult) {
  const OpSpec& spec = op_specs()[GetParam()];
  if (!spec.graph_replayable) GTEST_SKIP() << spec.name << " does not run in recorded steps";
  if (CudaBackend::device_count() == 0) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(23);
  for (const OpCase& c : spec.cases) {
    SCOPED_TRACE(spec.name + ", " + c.label);
    // A fresh backend per case: its graphs are keyed by the step's shape, which every case
    // shares, so a graph of the last case must not meet this one's ops.
    CudaBackend backend;
    KvCache cache{4, 4, {{backend.allocate_kv({16, 8}), backend.allocate_kv({16, 8})}}};
    ForwardBatch decode;  // one sequence, one new token: a step the backend records
    decode.token_ids = {0};
    decode.positions = {0};
    decode.slots = {0};
    decode.sequences = {{0, 1, {0}}};

    const OpInputs inputs = spec.generate(c, rng);
    OpTensors placed = place(backend, inputs);
    for (const char* round : {"eager", "captured", "replayed"}) {
      SCOPED_TRACE(round);
      // The inputs as this round finds them (an in-place op changed them in the last one).
      OpInputs now = inputs;
      for (std::size_t i = 0; i < placed.activations.size(); ++i) {
        backend.to_host(placed.activations[i], now.activations[i].values);
      }
      backend.begin_step(decode, cache, /*replayable=*/true);
      std::vector<Tensor> written = spec.run(backend, c, now, placed);
      written[0] = backend.end_step(written[0]);
      const auto in_step = to_host(backend, written);

      OpTensors fresh = place(backend, now);
      const auto eager = to_host(backend, spec.run(backend, c, now, fresh));
      expect_close(spec.name + " (" + c.label + ") " + round + " vs eager", in_step, eager,
                   {0.0, 0.0});
    }
    EXPECT_EQ(backend.decode_graph_count(), 1u) << "the step was not recorded";
  }
}

TEST(GraphReplay, AReplayWithAnotherScalarThanTheCaptureFails) {
  // The replay check covers an op's scalars as well as its tensors: a graph captured scaling by
  // 0.5 must not stand in for a scale by 2.
  if (CudaBackend::device_count() == 0) GTEST_SKIP() << "no CUDA device";
  CudaBackend backend;
  KvCache cache{4, 4, {{backend.allocate_kv({16, 8}), backend.allocate_kv({16, 8})}}};
  ForwardBatch decode;
  decode.token_ids = {0};
  decode.positions = {0};
  decode.slots = {0};
  decode.sequences = {{0, 1, {0}}};
  Tensor x = backend.upload(std::vector<float>(8, 1.0f), {2, 4});
  for (int round = 0; round < 2; ++round) {  // eager, then captured
    backend.begin_step(decode, cache, true);
    backend.scale(x, 0.5f);
    backend.end_step(x);
  }
  ASSERT_EQ(backend.decode_graph_count(), 1u);
  backend.begin_step(decode, cache, true);
  EXPECT_THROW(backend.scale(x, 2.0f), Error);
  backend.abort_step();
}

std::string spec_name(const ::testing::TestParamInfo<std::size_t>& param) {
  std::string name = op_specs()[param.param].name;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(EveryOp, GraphReplay,
                         ::testing::Range<std::size_t>(0, op_specs().size()), spec_name);

#else

TEST(GraphReplay, NeedsTheCudaBackend) { GTEST_SKIP() << "built without the CUDA backend"; }

#endif

}  // namespace
}  // namespace tessera::backend_ops
