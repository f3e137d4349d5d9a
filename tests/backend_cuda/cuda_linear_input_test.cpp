// Activations that only feed a product (Backend::allocate_linear_input) are bf16 on the CUDA
// backend. Every product rounds its input to bf16 anyway, so nothing may change: the operations
// that write one give exactly the bf16 rounding of their f32 result, and linear() of a bf16 x
// gives bit for bit what it gives for the f32 x it was rounded from, on the GEMV path and on the
// cuBLASLt one. The paths are compared with each other, not with fixed numbers.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/cuda/kernels.hpp"
#include "runtime/backend/cpu_backend.hpp"
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "tests/backend_cuda/cuda_test_support.hpp"
#include "tests/support/expect_error.hpp"
#include "tests/support/safetensors_writer.hpp"

namespace tessera::testing {
namespace {

using runtime::CudaBackend;
using runtime::DType;
using runtime::Tensor;

std::vector<std::uint32_t> bits_of(const std::vector<float>& values) {
  std::vector<std::uint32_t> bits(values.size());
  std::memcpy(bits.data(), values.data(), values.size() * sizeof(float));
  return bits;
}

std::vector<float> rounded(std::vector<float> values) {
  for (float& v : values) v = round_bf16(v);
  return values;
}

// Bitwise equality (so that -0 and 0, or two NaNs, are told apart), naming the first difference.
void expect_same_bits(const std::string& what, const std::vector<float>& got,
                      const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const auto g = bits_of(got);
  const auto w = bits_of(want);
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (g[i] != w[i]) {
      ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", expected " << want[i];
      return;
    }
  }
}

// A bf16 tensor (rounded from normal values of `scale`) for the test's checkpoint.
test::RawTensor bf16_tensor(std::string name, std::vector<std::int64_t> shape, unsigned seed,
                            float scale) {
  std::int64_t count = 1;
  for (const std::int64_t d : shape) count *= d;
  const auto values = random_values(static_cast<std::size_t>(count), seed, scale);
  return {std::move(name), "BF16", std::move(shape), test::u16_bytes(bf16_bits(values))};
}

// Row widths of the norms: one per register-kernel size (up to 256, 1024, 2048, 4096 and 8192
// values) and one beyond them (the looping kernels).
const std::vector<std::int64_t> kNormDims{200, 1000, 2000, 4000, 8000, 9000};

// Linear weights whose products with up to 8 rows take the GEMV kernel (at least 2^20 values):
// k a multiple of 8 (its 16-byte loads) and not (its scalar loop).
constexpr std::int64_t kVectorK = 1032;
constexpr std::int64_t kScalarK = 1029;
constexpr std::int64_t kOutputs = 1040;

class CudaLinearInput : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_GPU();
    std::vector<test::RawTensor> weights;
    for (const std::int64_t dim : kNormDims) {
      weights.push_back(
          bf16_tensor("norm" + std::to_string(dim), {dim}, static_cast<unsigned>(dim), 1.0f));
    }
    weights.push_back(bf16_tensor("w_vector", {kOutputs, kVectorK}, 1, 0.05f));
    weights.push_back(bf16_tensor("w_scalar", {kOutputs, kScalarK}, 2, 0.05f));
    weights.push_back(bf16_tensor("bias", {kOutputs}, 3, 1.0f));
    test::write_file(dir_ / "model.safetensors", test::safetensors(weights));
    checkpoint_ = std::make_unique<runtime::Checkpoint>(runtime::Checkpoint::open(dir_.path()));
    cuda_ = std::make_unique<CudaBackend>();
  }

  void TearDown() override {
    cuda_.reset();
    checkpoint_.reset();
  }

  runtime::Weight matrix(const std::string& name, std::vector<std::int64_t> shape) {
    const runtime::WeightPiece piece{name, {}, shape[0]};
    return cuda_->load_weight(*checkpoint_, std::span(&piece, 1), std::move(shape));
  }
  Tensor weight(const std::string& name, std::vector<std::int64_t> shape) {
    return matrix(name, std::move(shape)).data;
  }

  // A bf16 linear input holding bf16(values), written straight into the backend's memory.
  Tensor bf16_input(const std::vector<float>& values, std::vector<std::int64_t> shape) {
    Tensor t = cuda_->allocate_linear_input(std::move(shape));
    const auto bits = bf16_bits(values);
    cuda_->synchronize();  // the zero fill runs on the backend's stream, the copy on another
    EXPECT_EQ(cudaMemcpy(t.data<void>(), bits.data(), bits.size() * sizeof(std::uint16_t),
                         cudaMemcpyHostToDevice),
              cudaSuccess);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    return t;
  }

  std::vector<float> host(const Tensor& t) { return host_values(*cuda_, t); }

  test::ScratchDir dir_;
  std::unique_ptr<runtime::Checkpoint> checkpoint_;
  std::unique_ptr<CudaBackend> cuda_;
};

TEST_F(CudaLinearInput, IsBf16OnTheGpuAndF32OnTheCpu) {
  Tensor t = cuda_->allocate_linear_input({3, 5});
  EXPECT_EQ(t.dtype(), DType::bf16);
  EXPECT_EQ(t.device(), runtime::Device::cuda);
  EXPECT_EQ(t.shape(), (std::vector<std::int64_t>{3, 5}));
  expect_same_bits("allocate_linear_input outside a step", host(t), std::vector<float>(15, 0.0f));
  runtime::CpuBackend cpu;
  EXPECT_EQ(cpu.allocate_linear_input({3, 5}).dtype(), DType::f32);
}

TEST_F(CudaLinearInput, NormsWriteTheBf16RoundingOfTheirF32Result) {
  const float eps = 1e-5f;
  for (const std::int64_t dim : kNormDims) {
    const std::string at = " dim=" + std::to_string(dim);
    const Tensor w = weight("norm" + std::to_string(dim), {dim});
    const std::int64_t rows = 3;
    const auto x_values = random_values(static_cast<std::size_t>(rows * dim), 40, 3.0f);
    const auto residual_values = random_values(x_values.size(), 41, 3.0f);
    const Tensor x = cuda_->upload(x_values, {rows, dim});

    Tensor out_f32 = cuda_->allocate({rows, dim});
    Tensor out_bf16 = cuda_->allocate_linear_input({rows, dim});
    cuda_->rms_norm(x, w, eps, 0.0f, out_f32);
    cuda_->rms_norm(x, w, eps, 0.0f, out_bf16);
    expect_same_bits("rms_norm" + at, host(out_bf16), rounded(host(out_f32)));

    Tensor residual_f32 = cuda_->upload(residual_values, {rows, dim});
    Tensor residual_bf16 = cuda_->upload(residual_values, {rows, dim});
    cuda_->add_rms_norm(residual_f32, x, w, eps, 0.0f, out_f32);
    cuda_->add_rms_norm(residual_bf16, x, w, eps, 0.0f, out_bf16);
    expect_same_bits("add_rms_norm" + at, host(out_bf16), rounded(host(out_f32)));
    expect_same_bits("add_rms_norm residual" + at, host(residual_bf16), host(residual_f32));
  }
}

TEST_F(CudaLinearInput, SiluMulWritesTheBf16RoundingOfItsF32Result) {
  const std::int64_t rows = 5;
  const std::int64_t width = 1234;
  const auto values = random_values(static_cast<std::size_t>(rows * 2 * width), 50, 4.0f);
  const Tensor gate_up = cuda_->upload(values, {rows, 2 * width});
  Tensor out_f32 = cuda_->allocate({rows, width});
  Tensor out_bf16 = cuda_->allocate_linear_input({rows, width});
  cuda_->silu_mul(gate_up, out_f32);
  cuda_->silu_mul(gate_up, out_bf16);
  expect_same_bits("silu_mul", host(out_bf16), rounded(host(out_f32)));
}

TEST_F(CudaLinearInput, LinearOfBf16XEqualsLinearOfTheF32XItWasRoundedFrom) {
  const Tensor bias = weight("bias", {kOutputs});
  for (const std::int64_t k : {kVectorK, kScalarK}) {
    const runtime::Weight w = matrix(k == kVectorK ? "w_vector" : "w_scalar", {kOutputs, k});
    ASSERT_GE(kOutputs * k, std::int64_t{1} << 20) << "too small for the GEMV path";
    // Up to kGemvMaxRows rows take the GEMV kernel; 16 take cuBLASLt.
    for (const std::int64_t n : {std::int64_t{1}, std::int64_t{3}, kernels::cuda::kGemvMaxRows,
                                 std::int64_t{16}}) {
      const auto x_values =
          random_values(static_cast<std::size_t>(n * k), 60 + static_cast<unsigned>(n), 2.0f);
      const Tensor x_f32 = cuda_->upload(x_values, {n, k});
      const Tensor x_bf16 = bf16_input(x_values, {n, k});
      for (const Tensor* b : {static_cast<const Tensor*>(nullptr), &bias}) {
        const std::string what = "linear n=" + std::to_string(n) + " k=" + std::to_string(k) +
                                 (b ? " +bias" : "");
        Tensor out_f32 = cuda_->allocate({n, kOutputs});
        Tensor out_bf16 = cuda_->allocate({n, kOutputs});
        cuda_->linear(x_f32, w, b, out_f32);
        cuda_->linear(x_bf16, w, b, out_bf16);
        const auto want = host(out_f32);
        expect_same_bits(what, host(out_bf16), want);
        // Not a product of zeros, which would agree whatever the input.
        std::size_t nonzero = 0;
        for (const float v : want) nonzero += v != 0.0f;
        EXPECT_GT(nonzero, want.size() / 2) << what;
      }
    }
  }
}

TEST_F(CudaLinearInput, OtherDtypesAreRefusedNamingTheOperand) {
  const std::int64_t rows = 2;
  const std::int64_t dim = 200;
  const Tensor w = weight("norm200", {dim});
  const auto values = random_values(static_cast<std::size_t>(rows * dim), 70);
  const Tensor x = cuda_->upload(values, {rows, dim});
  Tensor out = cuda_->allocate_linear_input({rows, dim});
  Tensor bf16_residual = cuda_->allocate_linear_input({rows, dim});
  auto e =
      test::expect_error([&] { cuda_->add_rms_norm(bf16_residual, x, w, 1e-5f, 0.0f, out); });
  test::expect_error_mentions(e, ErrorCategory::internal,
                              {"add_rms_norm residual", "F32", "got BF16"});
  Tensor residual = cuda_->upload(values, {rows, dim});
  const Tensor bf16_x = cuda_->allocate_linear_input({rows, dim});
  e = test::expect_error([&] { cuda_->add_rms_norm(residual, bf16_x, w, 1e-5f, 0.0f, out); });
  test::expect_error_mentions(e, ErrorCategory::internal, {"add_rms_norm x", "got BF16"});
  e = test::expect_error([&] { cuda_->rms_norm(bf16_x, w, 1e-5f, 0.0f, out); });
  test::expect_error_mentions(e, ErrorCategory::internal, {"rms_norm x", "got BF16"});
  Tensor host_out = Tensor::host_f32({rows, dim});
  e = test::expect_error([&] { cuda_->rms_norm(x, w, 1e-5f, 0.0f, host_out); });
  test::expect_error_mentions(e, ErrorCategory::internal,
                              {"rms_norm out", "F32 or BF16", "got F32 on cpu"});

  Tensor half = cuda_->allocate_linear_input({rows, dim / 2});
  e = test::expect_error([&] { cuda_->silu_mul(out, half); });
  test::expect_error_mentions(e, ErrorCategory::internal, {"silu_mul gate_up", "got BF16"});

  const runtime::Weight linear_w = matrix("w_vector", {kOutputs, kVectorK});
  const Tensor host_x = Tensor::host_f32({rows, kVectorK});
  Tensor linear_out = cuda_->allocate({rows, kOutputs});
  e = test::expect_error([&] { cuda_->linear(host_x, linear_w, nullptr, linear_out); });
  test::expect_error_mentions(e, ErrorCategory::internal,
                              {"linear x", "F32 or BF16", "got F32 on cpu"});
  const Tensor x_bf16 = cuda_->allocate_linear_input({rows, kVectorK});
  Tensor bf16_out = cuda_->allocate_linear_input({rows, kOutputs});
  e = test::expect_error([&] { cuda_->linear(x_bf16, linear_w, nullptr, bf16_out); });
  test::expect_error_mentions(e, ErrorCategory::internal, {"linear out", "got BF16"});
}

}  // namespace
}  // namespace tessera::testing
