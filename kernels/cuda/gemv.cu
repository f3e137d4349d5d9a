// The product of a few activation rows with a bf16 weight matrix, for decode steps: there the
// whole cost is reading the weight once, and a GEMM library tuned for large products leaves much
// of the memory bandwidth unused. One warp per weight row; each lane streams 16 bytes (8 weights)
// per load with kUnroll loads in flight, and applies them to every activation row, so the weight
// is read once whatever the number of rows (up to kGemvMaxRows).
//
// f32 activations are rounded to bf16 as they are read, exactly as the GEMM path rounds its
// input; bf16 ones are used as stored (half the bytes to read), so they give bit for bit what the
// f32 activations they were rounded from give. Every product is accumulated in f32. The summation
// order of one output depends only on the weight's shape, not on how many rows are computed
// together, nor on the activations' type.
#include <cuda_bf16.h>

#include <cstdint>

#include "kernels/cuda/element.cuh"
#include "kernels/cuda/kernels.hpp"
#include "kernels/cuda/overlap.cuh"

namespace tessera::kernels::cuda {
namespace {

using detail::launch_overlapped;
using detail::let_next_kernel_start;
using detail::load8;
using detail::product_input;
using detail::unpack8;
using detail::wait_for_previous_kernel;

constexpr int kWarpsPerBlock = 8;
constexpr int kUnroll = 4;

// Eight bf16 weights (one 16-byte load) times elements [base, base + 8) of each activation row.
template <int kRows, class X>
__device__ inline void accumulate8(const uint4& packed, const X* x, std::int64_t k,
                                   std::int64_t base, float (&acc)[kRows]) {
  float w[8];
  unpack8(packed, w);
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    float xv[8];
    load8(x + r * k + base, xv);
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[r] = fmaf(w[i], xv[i], acc[r]);
  }
}

// kSplit warps share one weight row, each taking every kSplit-th run of 32 chunks, and their
// sums are added in a fixed order: a matrix with few rows (o_proj and down: 4096) would otherwise
// give each multiprocessor only a few long rows to stream, and finish unevenly.
// kVector: k is a multiple of 8 and x, w are 16-byte aligned (checked by the launcher).
// X: the activations' type, f32 or bf16.
template <int kRows, int kSplit, bool kVector, class X>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    gemv_kernel(const X* x, std::int64_t k, const __nv_bfloat16* w, std::int64_t m,
                const __nv_bfloat16* bias, float* out) {
  static_assert(kWarpsPerBlock % kSplit == 0);
  __shared__ float partial[kWarpsPerBlock][kRows];
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int part = warp % kSplit;
  const std::int64_t row =
      static_cast<std::int64_t>(blockIdx.x) * (kWarpsPerBlock / kSplit) + warp / kSplit;
  float acc[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r) acc[r] = 0.0f;
  let_next_kernel_start();

  // Weights are read once: stream them past L1 (__ldcs) and leave it to the activations.
  const __nv_bfloat16* w_row = w + row * k;
  const auto* packed = reinterpret_cast<const uint4*>(w_row);
  const std::int64_t chunks = k / 8;
  constexpr int kStride = 32 * kSplit;
  std::int64_t c = lane + 32 * part;
  const auto full_run = [&] { return row < m && c + kStride * (kUnroll - 1) < chunks; };
  uint4 loaded[kUnroll];
  const auto load_run = [&] {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) loaded[u] = __ldcs(packed + c + kStride * u);
  };
  // The first run of weights is in flight before the wait (launch_overlapped): the weight is
  // not written during a step, and the activations it meets come from the previous kernel.
  if constexpr (kVector) {
    if (full_run()) load_run();
  }
  wait_for_previous_kernel();

  if (row < m) {
    if constexpr (kVector) {
      while (full_run()) {
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
          accumulate8<kRows>(loaded[u], x, k, (c + kStride * u) * 8, acc);
        }
        c += kStride * kUnroll;
        if (full_run()) load_run();
      }
      for (; c < chunks; c += kStride) accumulate8<kRows>(__ldcs(packed + c), x, k, c * 8, acc);
    } else {
      for (std::int64_t i = lane + 32 * part; i < k; i += 32 * kSplit) {
        const float wi = __bfloat162float(w_row[i]);
#pragma unroll
        for (int r = 0; r < kRows; ++r) acc[r] = fmaf(wi, product_input(x[r * k + i]), acc[r]);
      }
    }
  }

#pragma unroll
  for (int r = 0; r < kRows; ++r) {
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) {
      acc[r] += __shfl_xor_sync(0xffffffffu, acc[r], offset);
    }
  }
  if constexpr (kSplit > 1) {
    if (lane == 0) {
#pragma unroll
      for (int r = 0; r < kRows; ++r) partial[warp][r] = acc[r];
    }
    __syncthreads();
    if (part != 0) return;
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      acc[r] = partial[warp][r];
#pragma unroll
      for (int p = 1; p < kSplit; ++p) acc[r] += partial[warp + p][r];
    }
  }
  if (lane == 0 && row < m) {
    const float b = bias ? __bfloat162float(bias[row]) : 0.0f;
#pragma unroll
    for (int r = 0; r < kRows; ++r) out[r * m + row] = acc[r] + b;
  }
}

template <int kRows, int kSplit, class X>
void launch_split(bool vector, const X* x, std::int64_t k, const __nv_bfloat16* w,
                  std::int64_t m, const __nv_bfloat16* bias, float* out, cudaStream_t stream) {
  constexpr int kRowsPerBlock = kWarpsPerBlock / kSplit;
  const auto blocks = static_cast<unsigned>((m + kRowsPerBlock - 1) / kRowsPerBlock);
  const auto kernel = vector ? gemv_kernel<kRows, kSplit, true, X>
                             : gemv_kernel<kRows, kSplit, false, X>;
  launch_overlapped(kernel, blocks, kWarpsPerBlock * 32, 0, stream, x, k, w, m, bias, out);
}

// Enough blocks to spread the rows over every multiprocessor several times (132 on an H100),
// as long as each warp still has a full unrolled run of chunks to stream.
int split_for(std::int64_t m, std::int64_t k) {
  constexpr std::int64_t kWantedBlocks = 1024;
  int split = 1;
  while (split < 4 && m * split / kWarpsPerBlock < kWantedBlocks &&
         k / 8 >= 2 * static_cast<std::int64_t>(split) * 32 * kUnroll) {
    split *= 2;
  }
  return split;
}

template <int kRows, class X>
void launch_gemv(bool vector, const X* x, std::int64_t k, const __nv_bfloat16* w,
                 std::int64_t m, const __nv_bfloat16* bias, float* out, cudaStream_t stream) {
  switch (split_for(m, k)) {
    case 1: launch_split<kRows, 1>(vector, x, k, w, m, bias, out, stream); break;
    case 2: launch_split<kRows, 2>(vector, x, k, w, m, bias, out, stream); break;
    default: launch_split<kRows, 4>(vector, x, k, w, m, bias, out, stream); break;
  }
}

bool aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

template <class X>
void launch_rows(const X* x, std::int64_t rows, std::int64_t k, const __nv_bfloat16* w,
                 std::int64_t m, const __nv_bfloat16* bias, float* out, cudaStream_t stream) {
  if (rows == 0 || m == 0) return;
  const bool vector = k % 8 == 0 && aligned16(x) && aligned16(w);
  switch (rows) {
    case 1: launch_gemv<1>(vector, x, k, w, m, bias, out, stream); break;
    case 2: launch_gemv<2>(vector, x, k, w, m, bias, out, stream); break;
    case 3: launch_gemv<3>(vector, x, k, w, m, bias, out, stream); break;
    case 4: launch_gemv<4>(vector, x, k, w, m, bias, out, stream); break;
    case 5: launch_gemv<5>(vector, x, k, w, m, bias, out, stream); break;
    case 6: launch_gemv<6>(vector, x, k, w, m, bias, out, stream); break;
    case 7: launch_gemv<7>(vector, x, k, w, m, bias, out, stream); break;
    default: launch_gemv<kGemvMaxRows>(vector, x, k, w, m, bias, out, stream); break;
  }
}

}  // namespace

void gemv_bf16(const float* x, std::int64_t rows, std::int64_t k, const __nv_bfloat16* w,
               std::int64_t m, const __nv_bfloat16* bias, float* out, cudaStream_t stream) {
  launch_rows(x, rows, k, w, m, bias, out, stream);
}

void gemv_bf16(const __nv_bfloat16* x, std::int64_t rows, std::int64_t k,
               const __nv_bfloat16* w, std::int64_t m, const __nv_bfloat16* bias, float* out,
               cudaStream_t stream) {
  launch_rows(x, rows, k, w, m, bias, out, stream);
}

}  // namespace tessera::kernels::cuda
