#pragma once
// The CUDA backend's matrix products: out[n, m] (f32) = x[n, k] · w[m, k]ᵀ with x and w in bf16,
// through cuBLASLt with an algorithm chosen once per shape. Internal to runtime/backend.
//
// Each shape gets cuBLASLt's first candidate for it, unless the backend was made with timing on
// (TESSERA_GEMM_TUNING=1): then the first product of each thin shape (n ≤ kTunedMaxRows, where a
// decode step's products are bound by reading the weight and another tile shape or split may
// stream it faster) times the few best candidates on the real operands and keeps the fastest.
// Timing is off by default: on an H100 it gained about 1% at batch 64 (bench/RESULTS.md), and a
// choice made by speed can differ between processes, whose sums then differ in the last bits.
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

namespace tessera::runtime {

class CudaGemm {
 public:
  static constexpr std::int64_t kTunedMaxRows = 256;

  // `workspace` (of `workspace_bytes`) is shared with whatever else runs on `stream`.
  CudaGemm(cudaStream_t stream, void* workspace, std::size_t workspace_bytes, bool timing);
  ~CudaGemm();
  CudaGemm(const CudaGemm&) = delete;
  CudaGemm& operator=(const CudaGemm&) = delete;

  // Enqueues the product on the stream. `may_time`: false while a CUDA graph is being captured
  // (timing waits for the stream); an untuned shape then takes the first candidate for this call.
  void bf16_f32(const __nv_bfloat16* x, std::int64_t n, std::int64_t k, const __nv_bfloat16* w,
                std::int64_t m, float* out, bool may_time);

 private:
  struct Plan;
  using Shape = std::tuple<std::int64_t, std::int64_t, std::int64_t>;  // m, n, k

  std::unique_ptr<Plan> make_plan(const Shape& shape);
  void run(const Plan& plan, int candidate, const __nv_bfloat16* x, const __nv_bfloat16* w,
           float* out);
  int fastest(const Plan& plan, const __nv_bfloat16* x, const __nv_bfloat16* w, float* out);

  cudaStream_t stream_;
  void* workspace_;
  std::size_t workspace_bytes_;
  bool timing_ = false;
  cublasLtHandle_t handle_ = nullptr;
  std::map<Shape, std::unique_ptr<Plan>> plans_;
};

}  // namespace tessera::runtime
