// The cuBLASLt product the backend's linear uses beyond the GEMV's rows, with timing on, against a
// host reference (double sums of the same bf16 inputs): on thin shapes it times its candidates
// and keeps one, on wide ones, and on calls made while a graph is captured, it takes the first.
#include <cuda_runtime.h>
#include <gtest/gtest.h>


#include "runtime/backend/cuda_gemm.hpp"
#include "tests/backend_cuda/cuda_test_support.hpp"

namespace tessera::testing {
namespace {

struct DeviceBuffer {
  void* data = nullptr;
  explicit DeviceBuffer(std::size_t bytes) { EXPECT_EQ(cudaMalloc(&data, bytes), cudaSuccess); }
  ~DeviceBuffer() { (void)cudaFree(data); }
};

class CudaGemmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_GPU();
    ASSERT_EQ(cudaStreamCreate(&stream_), cudaSuccess);
    workspace_ = std::make_unique<DeviceBuffer>(kWorkspace);
    gemm_ = std::make_unique<runtime::CudaGemm>(stream_, workspace_->data, kWorkspace, true);
  }
  void TearDown() override {
    gemm_.reset();
    if (stream_) (void)cudaStreamDestroy(stream_);
  }

  // out = x · wᵀ twice (the first call chooses, the second uses the choice): both must match
  // the reference, and each other exactly.
  void check(std::int64_t m, std::int64_t n, std::int64_t k, bool may_time) {
    const auto x = random_values(static_cast<std::size_t>(n * k), 21, 1.0f);
    const auto w = random_values(static_cast<std::size_t>(m * k), 22, 0.05f);
    const auto x_bits = bf16_bits(x);
    const auto w_bits = bf16_bits(w);
    DeviceBuffer dx(x_bits.size() * 2), dw(w_bits.size() * 2);
    DeviceBuffer dout(static_cast<std::size_t>(m * n) * sizeof(float));
    ASSERT_EQ(cudaMemcpy(dx.data, x_bits.data(), x_bits.size() * 2, cudaMemcpyHostToDevice),
              cudaSuccess);
    ASSERT_EQ(cudaMemcpy(dw.data, w_bits.data(), w_bits.size() * 2, cudaMemcpyHostToDevice),
              cudaSuccess);

    std::vector<float> want(static_cast<std::size_t>(m * n));
    for (std::int64_t r = 0; r < n; ++r) {
      for (std::int64_t j = 0; j < m; ++j) {
        double sum = 0.0;
        for (std::int64_t i = 0; i < k; ++i) {
          sum += static_cast<double>(round_bf16(w[static_cast<std::size_t>(j * k + i)])) *
                 round_bf16(x[static_cast<std::size_t>(r * k + i)]);
        }
        want[static_cast<std::size_t>(r * m + j)] = static_cast<float>(sum);
      }
    }
    const std::string what = "m=" + std::to_string(m) + " n=" + std::to_string(n) +
                             " k=" + std::to_string(k) + (may_time ? "" : " (capturing)");
    std::vector<std::vector<float>> results;
    for (int call = 0; call < 2; ++call) {
      ASSERT_EQ(cudaMemset(dout.data, 0xff, want.size() * sizeof(float)), cudaSuccess);
      gemm_->bf16_f32(static_cast<const __nv_bfloat16*>(dx.data), n, k,
                      static_cast<const __nv_bfloat16*>(dw.data), m,
                      static_cast<float*>(dout.data), may_time);
      std::vector<float> got(want.size());
      ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
      ASSERT_EQ(cudaMemcpy(got.data(), dout.data, got.size() * sizeof(float),
                           cudaMemcpyDeviceToHost),
                cudaSuccess);
      expect_close(what + " call " + std::to_string(call), got, want,
                   1e-4 * std::max<double>(1.0, static_cast<double>(k) / 100.0));
      results.push_back(std::move(got));
    }
    if (may_time) {
      EXPECT_EQ(results[0], results[1]) << what << ": the choice changed between calls";
    }
  }

  static constexpr std::size_t kWorkspace = std::size_t{32} << 20;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<DeviceBuffer> workspace_;
  std::unique_ptr<runtime::CudaGemm> gemm_;
};

TEST_F(CudaGemmTest, ThinShapesAreTimedAndMatchTheReference) {
  check(96, 16, 64, true);
  check(640, 64, 512, true);
  check(72, 9, 200, true);  // k and m not multiples of 8 or 16
}

TEST_F(CudaGemmTest, WideShapesTakeTheFirstCandidate) {
  check(64, runtime::CudaGemm::kTunedMaxRows + 44, 128, true);
}

TEST_F(CudaGemmTest, CallsThatMayNotTimeTakeTheFirstCandidate) {
  check(128, 32, 256, false);
  check(128, 32, 256, true);  // the same shape, timed once allowed
}

}  // namespace
}  // namespace tessera::testing
