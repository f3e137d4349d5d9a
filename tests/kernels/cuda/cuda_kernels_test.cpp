// The CUDA kernels against the CPU kernels on the same random inputs. The inputs are rounded to
// bf16 first so both sides see identical values; outputs differ by the bf16 rounding of the
// result (relative 2^-8) plus f32 summation order. Skipped where no GPU is present.
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/activation.hpp"
#include "kernels/cpu/embedding.hpp"
#include "kernels/cpu/norm.hpp"
#include "kernels/cpu/rope.hpp"
#include "kernels/cuda/kernels.hpp"

namespace tessera::kernels {
namespace {

#define CUDA_OK(call) ASSERT_EQ((call), cudaSuccess) << cudaGetErrorString(cudaGetLastError())

class CudaKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
      GTEST_SKIP() << "no CUDA device";
    }
  }
};

std::vector<float> random_bf16_values(std::size_t n, unsigned seed, float mean = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(mean, 1.0f);
  std::vector<float> out(n);
  for (float& v : out) v = __bfloat162float(__float2bfloat16(normal(rng)));
  return out;
}

// A device copy of host values, in bf16 or f32.
template <class T>
struct DeviceArray {
  T* data = nullptr;
  std::size_t size = 0;
  explicit DeviceArray(const std::vector<float>& host) : size(host.size()) {
    std::vector<T> converted(host.size());
    for (std::size_t i = 0; i < host.size(); ++i) converted[i] = static_cast<T>(host[i]);
    cudaMalloc(&data, size * sizeof(T));
    cudaMemcpy(data, converted.data(), size * sizeof(T), cudaMemcpyHostToDevice);
  }
  ~DeviceArray() { cudaFree(data); }
  std::vector<float> to_host() const {
    std::vector<T> raw(size);
    cudaMemcpy(raw.data(), data, size * sizeof(T), cudaMemcpyDeviceToHost);
    std::vector<float> out(size);
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<float>(raw[i]);
    return out;
  }
};
using Bf16Array = DeviceArray<__nv_bfloat16>;

void expect_close(const std::vector<float>& actual, const std::vector<float>& expected,
                  float relative) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    ASSERT_NEAR(actual[i], expected[i], relative * (1.0f + std::abs(expected[i]))) << "at " << i;
  }
}

constexpr float kBf16Tolerance = 1.0f / 128;

TEST_F(CudaKernels, RmsNormAndResidualMatchCpu) {
  const std::int64_t rows = 7, dim = 1000;
  const auto x = random_bf16_values(rows * dim, 1);
  const auto w = random_bf16_values(dim, 2, 1.0f);
  std::vector<float> expected(x.size());
  cpu::rms_norm(x.data(), rows, dim, dim, w.data(), 1e-5f, 0.0f, expected.data(), dim);
  Bf16Array dx(x), dw(w), dout(std::vector<float>(x.size()));
  cuda::rms_norm(dx.data, rows, dim, dw.data, 1e-5f, dout.data, nullptr);
  CUDA_OK(cudaDeviceSynchronize());
  expect_close(dout.to_host(), expected, kBf16Tolerance);

  const auto residual = random_bf16_values(rows * dim, 3);
  auto expected_residual = residual;
  cpu::add_rms_norm(expected_residual.data(), x.data(), rows, dim, w.data(), 1e-5f, 0.0f,
                    expected.data());
  DeviceArray<float> dres(residual);
  cuda::add_rms_norm(dres.data, dx.data, rows, dim, dw.data, 1e-5f, dout.data, nullptr);
  CUDA_OK(cudaDeviceSynchronize());
  expect_close(dres.to_host(), expected_residual, 1e-6f);
  expect_close(dout.to_host(), expected, kBf16Tolerance);
}

TEST_F(CudaKernels, SiluMulMatchesCpu) {
  const std::int64_t rows = 5, width = 333;
  const auto gate_up = random_bf16_values(rows * 2 * width, 4);
  std::vector<float> expected(rows * width);
  cpu::silu_mul(gate_up.data(), rows, width, expected.data());
  Bf16Array din(gate_up), dout(std::vector<float>(expected.size()));
  cuda::silu_mul(din.data, rows, width, dout.data, nullptr);
  CUDA_OK(cudaDeviceSynchronize());
  expect_close(dout.to_host(), expected, kBf16Tolerance);
}

TEST_F(CudaKernels, RopeMatchesCpu) {
  const std::int64_t tokens = 9, heads = 6, head_dim = 64, stride = heads * head_dim + 32;
  const auto x = random_bf16_values(tokens * stride, 5);
  std::vector<float> inv_freq(head_dim / 2);
  for (std::int64_t i = 0; i < head_dim / 2; ++i) {
    inv_freq[i] = static_cast<float>(1.0 / std::pow(10000.0, 2.0 * i / head_dim));
  }
  std::vector<std::int32_t> positions{0, 1, 2, 5, 17, 100, 1000, 4095, 7};
  auto expected = x;
  cpu::rope_rotate_half(expected.data(), tokens, stride, heads, head_dim, positions.data(),
                        inv_freq.data());
  Bf16Array dx(x);
  DeviceArray<float> dfreq(inv_freq);
  std::int32_t* dpos = nullptr;
  CUDA_OK(cudaMalloc(&dpos, positions.size() * sizeof(std::int32_t)));
  CUDA_OK(cudaMemcpy(dpos, positions.data(), positions.size() * sizeof(std::int32_t),
                     cudaMemcpyHostToDevice));
  cuda::rope_rotate_half(dx.data, tokens, stride, heads, head_dim, dpos, dfreq.data, nullptr);
  CUDA_OK(cudaDeviceSynchronize());
  cudaFree(dpos);
  // Large angles (position 4095) lose a few ulps in sincosf's range reduction on either side.
  expect_close(dx.to_host(), expected, 2 * kBf16Tolerance);
}

TEST_F(CudaKernels, EmbeddingGathersRows) {
  const std::int64_t vocab = 50, dim = 129;
  const auto table = random_bf16_values(vocab * dim, 6);
  const std::vector<std::int32_t> ids{3, 49, 0, 3, 17};
  std::vector<float> expected(ids.size() * dim);
  cpu::embedding_lookup(table.data(), dim, ids.data(), std::ssize(ids), expected.data());
  Bf16Array dtable(table), dout(std::vector<float>(expected.size()));
  std::int32_t* dids = nullptr;
  CUDA_OK(cudaMalloc(&dids, ids.size() * sizeof(std::int32_t)));
  CUDA_OK(cudaMemcpy(dids, ids.data(), ids.size() * sizeof(std::int32_t), cudaMemcpyHostToDevice));
  cuda::embedding_lookup(dtable.data, dim, dids, std::ssize(ids), dout.data, nullptr);
  CUDA_OK(cudaDeviceSynchronize());
  cudaFree(dids);
  expect_close(dout.to_host(), expected, 0.0f);
}

}  // namespace
}  // namespace tessera::kernels
