#pragma once
// What the CUDA backend checks on every call: CUDA and cuBLAS statuses (turned into
// tessera::Error with the status name and text) and its tensor arguments (dtype, device, sizes).
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/backend/tensor.hpp"
#include "runtime/core/error.hpp"

namespace tessera::runtime::cuda_checks {

inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw Error(ErrorCategory::internal, std::string("CUDA error in ") + what + ": " +
                                             cudaGetErrorName(status) + ": " +
                                             cudaGetErrorString(status));
  }
}

inline void check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw Error(ErrorCategory::internal, std::string("cuBLAS error in ") + what + ": " +
                                             cublasGetStatusName(status) + ": " +
                                             cublasGetStatusString(status));
  }
}

// A kernel launch reports configuration errors only through cudaGetLastError.
inline void check_launch(const char* what) { check(cudaGetLastError(), what); }

inline std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

[[noreturn]] inline void fail(const std::string& message) {
  throw Error(ErrorCategory::internal, "CudaBackend: " + message);
}

// Checks an argument; the message (a std::string expression) is built only when the check fails,
// so the checks cost nothing measurable on the per-operation path.
#define TESSERA_CUDA_REQUIRE(condition, message)                          \
  do {                                                                    \
    if (!(condition)) ::tessera::runtime::cuda_checks::fail(message);     \
  } while (0)

inline void require_tensor(const Tensor& t, DType dtype, const char* what) {
  if (!t.defined() || t.device() != Device::cuda || t.dtype() != dtype) {
    fail(std::string(what) + " must be a " + std::string(to_string(dtype)) +
         " tensor on the CUDA device (got " +
         (t.defined() ? std::string(to_string(t.dtype())) +
                            (t.device() == Device::cuda ? " on cuda" : " on cpu")
                      : std::string("an undefined tensor")) +
         ")");
  }
}

inline const float* f32_in(const Tensor& t, const char* what) {
  require_tensor(t, DType::f32, what);
  return t.data<float>();
}

inline float* f32_out(const Tensor& t, const char* what) {
  require_tensor(t, DType::f32, what);
  return t.data<float>();
}

inline const __nv_bfloat16* bf16_in(const Tensor& t, const char* what) {
  require_tensor(t, DType::bf16, what);
  return t.data<__nv_bfloat16>();
}

// f32 -> bf16 bits, round to nearest even (NaN stays a quiet NaN).
inline std::uint16_t to_bf16_bits(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  const std::uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

inline std::int64_t count_of(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) {
    TESSERA_CUDA_REQUIRE(d >= 0, "negative dimension in shape " + shape_text(shape));
    n *= d;
  }
  return n;
}

inline int as_int(std::int64_t v, const char* what) {
  TESSERA_CUDA_REQUIRE(v >= 0 && v <= INT_MAX,
                       std::string(what) + " = " + std::to_string(v) + " does not fit an int");
  return static_cast<int>(v);
}

}  // namespace tessera::runtime::cuda_checks
