#pragma once
// Helpers shared by the CUDA backend tests: skipping without a GPU, bf16 rounding, reading a
// tensor back, random inputs and a comparison that says where two arrays differ most.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "runtime/backend/cuda_backend.hpp"

namespace tessera::testing {

#define SKIP_WITHOUT_GPU()                                                       \
  do {                                                                           \
    if (runtime::CudaBackend::device_count() == 0) GTEST_SKIP() << "no CUDA device"; \
  } while (0)

// A macro, not a function: GTEST_SKIP returns from the function it is written in, and the test
// must end there.
#define SKIP_WITHOUT_GPUS(needed)                                                          \
  do {                                                                                     \
    const int found_gpus = runtime::CudaBackend::device_count();                           \
    if (found_gpus < (needed)) GTEST_SKIP() << "needs " << (needed) << " GPUs, found " << found_gpus; \
  } while (0)

inline float round_bf16(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  bits = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u;
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

// The bits of round_bf16(value) as a bf16, one value or many.
inline std::uint16_t bf16_bits(float value) {
  const float r = round_bf16(value);
  std::uint32_t bits;
  std::memcpy(&bits, &r, sizeof bits);
  return static_cast<std::uint16_t>(bits >> 16);
}

inline std::vector<std::uint16_t> bf16_bits(const std::vector<float>& values) {
  std::vector<std::uint16_t> bits(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) bits[i] = bf16_bits(values[i]);
  return bits;
}

inline std::vector<float> host_values(runtime::Backend& backend, const runtime::Tensor& t) {
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  backend.to_host(t, out);
  return out;
}

inline std::vector<float> random_values(std::size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> out(n);
  for (float& v : out) v = normal(rng);
  return out;
}

struct Diff {
  double max_abs = 0.0;
  std::size_t at = 0;
  double max_ref = 0.0;
};

inline Diff diff_of(const std::vector<float>& got, const std::vector<float>& want) {
  Diff d;
  for (std::size_t i = 0; i < want.size() && i < got.size(); ++i) {
    const double e = std::abs(static_cast<double>(got[i]) - want[i]);
    if (!(e <= d.max_abs)) {  // catches NaN too
      d.max_abs = std::isnan(e) ? INFINITY : e;
      d.at = i;
    }
    d.max_ref = std::max(d.max_ref, std::abs(static_cast<double>(want[i])));
  }
  return d;
}

// Expects got ≈ want within `tolerance`; says where they differ most.
inline void expect_close(const std::string& what, const std::vector<float>& got,
                  const std::vector<float>& want, double tolerance) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const Diff d = diff_of(got, want);
  std::cout << "[cuda] " << what << ": max abs diff " << d.max_abs << " (tolerance " << tolerance
            << ", max |ref| " << d.max_ref << ")\n";
  EXPECT_LE(d.max_abs, tolerance) << what << ": element " << d.at << " is " << got[d.at]
                                  << ", CPU reference " << want[d.at];
}


}  // namespace tessera::testing
