// The decode GEMV kernel against a host reference (double sums of bf16-rounded inputs) on odd
// shapes, both its 16-byte path (k a multiple of 8) and its scalar path, and the backend's linear
// taking it for a large weight, against the CPU backend.
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "kernels/cuda/kernels.hpp"
#include "runtime/backend/cpu_backend.hpp"
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "tests/backend_cuda/cuda_test_support.hpp"
#include "tests/support/safetensors_writer.hpp"

namespace tessera::testing {
namespace {

template <class T>
T* device_copy(const std::vector<T>& host) {
  T* device = nullptr;
  EXPECT_EQ(cudaMalloc(&device, std::max<std::size_t>(host.size(), 1) * sizeof(T)), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(device, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice),
            cudaSuccess);
  return device;
}

void check_gemv(std::int64_t rows, std::int64_t k, std::int64_t m, bool with_bias) {
  const auto x = random_values(static_cast<std::size_t>(rows * k), 11, 2.0f);
  const auto w = random_values(static_cast<std::size_t>(m * k), 12, 0.05f);
  const auto bias = random_values(static_cast<std::size_t>(m), 13);
  const auto w_bits = bf16_bits(w);
  const auto bias_bits = bf16_bits(bias);

  float* dx = device_copy(x);
  auto* dw = reinterpret_cast<__nv_bfloat16*>(device_copy(w_bits));
  auto* db = reinterpret_cast<__nv_bfloat16*>(device_copy(bias_bits));
  float* dout = nullptr;
  ASSERT_EQ(cudaMalloc(&dout, static_cast<std::size_t>(rows * m) * sizeof(float)), cudaSuccess);
  kernels::cuda::gemv_bf16(dx, rows, k, dw, m, with_bias ? db : nullptr, dout, nullptr);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  std::vector<float> got(static_cast<std::size_t>(rows * m));
  ASSERT_EQ(cudaMemcpy(got.data(), dout, got.size() * sizeof(float), cudaMemcpyDeviceToHost),
            cudaSuccess);
  for (void* p : {static_cast<void*>(dx), static_cast<void*>(dw), static_cast<void*>(db),
                  static_cast<void*>(dout)}) {
    cudaFree(p);
  }

  std::vector<float> want(got.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < m; ++j) {
      double sum = with_bias ? round_bf16(bias[static_cast<std::size_t>(j)]) : 0.0;
      for (std::int64_t i = 0; i < k; ++i) {
        sum += static_cast<double>(round_bf16(w[static_cast<std::size_t>(j * k + i)])) *
               round_bf16(x[static_cast<std::size_t>(r * k + i)]);
      }
      want[static_cast<std::size_t>(r * m + j)] = static_cast<float>(sum);
    }
  }
  expect_close("gemv rows=" + std::to_string(rows) + " k=" + std::to_string(k) +
                   " m=" + std::to_string(m) + (with_bias ? " +bias" : ""),
               got, want, 1e-4 * std::max<double>(1.0, static_cast<double>(k) / 100.0));
}

TEST(CudaGemv, MatchesAHostReferenceOnOddShapes) {
  SKIP_WITHOUT_GPU();
  for (std::int64_t rows = 1; rows <= kernels::cuda::kGemvMaxRows; ++rows) {
    check_gemv(rows, 1000, 37, rows % 2 == 0);  // 16-byte path, unrolled loop and its tail
  }
  check_gemv(1, 8, 5, true);        // one 16-byte load per row
  check_gemv(3, 4104, 9, false);    // four warps per row, unrolled iterations plus a tail
  check_gemv(5, 2048, 13, true);    // two warps per row, a last block half used
  check_gemv(2, 4097, 3, false);    // four warps per row on the scalar path
  check_gemv(2, 1001, 13, true);    // k not a multiple of 8: the scalar path
  check_gemv(8, 3, 70, false);
}

TEST(CudaGemv, BackendLinearTakesItForLargeWeightsAndAgreesWithCpu) {
  SKIP_WITHOUT_GPU();
  const std::int64_t m = 1031;
  const std::int64_t k = 1032;  // m * k is above the backend's GEMV threshold
  // One bf16 weight in a checkpoint, so both backends load the same values.
  const test::ScratchDir dir;
  const auto w = random_values(static_cast<std::size_t>(m * k), 21, 0.05f);
  test::write_file(dir / "model.safetensors",
                   test::safetensors({{"w", "BF16", {m, k}, test::u16_bytes(bf16_bits(w))}}));
  const auto checkpoint = runtime::Checkpoint::open(dir.path());
  runtime::CudaBackend cuda;
  runtime::CpuBackend cpu;
  const runtime::WeightPiece piece{"w", {}, m};
  runtime::Weight wg = cuda.load_weight(checkpoint, std::span(&piece, 1), {m, k});
  runtime::Weight wc = cpu.load_weight(checkpoint, std::span(&piece, 1), {m, k});
  // Rows 1..8 take the GEMV kernel, 9 takes cuBLAS; all must agree with the CPU backend within
  // the bf16 rounding of the input (which the CPU backend does not do).
  for (const std::int64_t n : {std::int64_t{1}, std::int64_t{5}, std::int64_t{8}, std::int64_t{9}}) {
    const auto x = random_values(static_cast<std::size_t>(n * k), 22 + static_cast<unsigned>(n));
    runtime::Tensor xg = cuda.upload(x, {n, k});
    runtime::Tensor xc = cpu.upload(x, {n, k});
    runtime::Tensor og = cuda.allocate({n, m});
    runtime::Tensor oc = cpu.allocate({n, m});
    cuda.linear(xg, wg, nullptr, og);
    cpu.linear(xc, wc, nullptr, oc);
    expect_close("backend linear n=" + std::to_string(n), host_values(cuda, og),
                 host_values(cpu, oc), 2e-2);
  }
}

}  // namespace
}  // namespace tessera::testing
