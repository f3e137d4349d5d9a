#include "tests/backend_ops/op_harness.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <sstream>

#include "runtime/backend/cpu_backend.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "tests/support/safetensors_writer.hpp"
#if TESSERA_HAS_CUDA
#include "runtime/backend/cuda_backend.hpp"
#endif

namespace tessera::backend_ops {

std::vector<std::string> built_backends() {
#if TESSERA_HAS_CUDA
  return {"cpu", "cuda"};
#else
  return {"cpu"};
#endif
}

std::unique_ptr<runtime::Backend> make_backend(const std::string& name) {
  if (name == "cpu") return std::make_unique<runtime::CpuBackend>();
#if TESSERA_HAS_CUDA
  if (name == "cuda" && runtime::CudaBackend::device_count() > 0) {
    return std::make_unique<runtime::CudaBackend>();
  }
#endif
  return nullptr;
}

namespace {

// The top 16 bits of each value: exact, the generator made them bf16-representable.
std::string bf16_bytes(const std::vector<float>& values) {
  std::vector<std::uint16_t> bits(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint32_t word;
    std::memcpy(&word, &values[i], sizeof word);
    EXPECT_EQ(word & 0xffffu, 0u) << "weight value " << values[i] << " is not a bf16";
    bits[i] = static_cast<std::uint16_t>(word >> 16);
  }
  return test::u16_bytes(bits);
}

}  // namespace

OpTensors place(runtime::Backend& backend, const OpInputs& inputs) {
  OpTensors out;
  for (const HostTensor& a : inputs.activations) {
    out.activations.push_back(backend.upload(a.values, a.shape));
  }
  if (inputs.weights.empty()) return out;
  test::ScratchDir dir;
  std::vector<test::RawTensor> raw;
  for (std::size_t i = 0; i < inputs.weights.size(); ++i) {
    raw.push_back({"w" + std::to_string(i), "BF16", inputs.weights[i].shape,
                   bf16_bytes(inputs.weights[i].values)});
  }
  test::write_file(dir / "model.safetensors", test::safetensors(raw));
  const runtime::Checkpoint checkpoint = runtime::Checkpoint::open(dir.path());
  for (std::size_t i = 0; i < inputs.weights.size(); ++i) {
    const HostTensor& w = inputs.weights[i];
    const runtime::WeightPiece piece{"w" + std::to_string(i), {}, w.shape[0]};
    out.weights.push_back(backend.load_weight(checkpoint, {&piece, 1}, w.shape));
  }
  return out;
}

std::vector<HostTensor> to_host(runtime::Backend& backend,
                                const std::vector<runtime::Tensor>& tensors) {
  std::vector<HostTensor> out;
  for (const runtime::Tensor& t : tensors) {
    HostTensor h{t.shape(), std::vector<float>(static_cast<std::size_t>(t.numel()))};
    backend.to_host(t, h.values);
    out.push_back(std::move(h));
  }
  return out;
}

void expect_close(const std::string& what, const std::vector<HostTensor>& actual,
                  const std::vector<HostTensor>& expected, Tolerance tolerance) {
  ASSERT_EQ(actual.size(), expected.size()) << what << ": number of results";
  for (std::size_t r = 0; r < actual.size(); ++r) {
    const auto& a = actual[r].values;
    const auto& e = expected[r].values;
    ASSERT_EQ(a.size(), e.size()) << what << ": result " << r << " has the wrong size";
    std::size_t failures = 0, worst = 0;
    double worst_excess = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const double allowed = tolerance.abs + tolerance.rel * std::abs(double(e[i]));
      const double excess = std::abs(double(a[i]) - double(e[i])) - allowed;
      if (excess > 0.0 || std::isnan(a[i]) != std::isnan(e[i])) {
        if (failures++ == 0 || excess > worst_excess) {
          worst = i;
          worst_excess = excess;
        }
      }
    }
    EXPECT_EQ(failures, 0u) << what << ": result " << r << ", " << failures << " of " << a.size()
                            << " elements out of tolerance (abs " << tolerance.abs << ", rel "
                            << tolerance.rel << "); worst at " << worst << ": " << a[worst]
                            << " vs " << e[worst];
  }
}

}  // namespace tessera::backend_ops
