#pragma once
// PTX wrappers for the tensor-core kernels (sm_80 and later): the m16n8k16 product, ldmatrix,
// cp.async copies and shared-memory stores.
#include <cuda_bf16.h>

#include <cstdint>

namespace tessera::kernels::cuda::detail {

// d += a · b for one m16n8k16 tile.
__device__ inline void mma_bf16(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0,
                                std::uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <bool kTransposed>
__device__ inline void load_matrices(std::uint32_t (&r)[4], std::uint32_t address) {
  if constexpr (kTransposed) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(address));
  } else {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(address));
  }
}

// 16 bytes from global to shared memory, or 16 zeros when !present (source size 0 reads
// nothing, but src stays a valid address).
__device__ inline void copy_async(std::uint32_t dst, const void* src, bool present) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
               "r"(present ? 16 : 0) : "memory");
}
__device__ inline void copy_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
__device__ inline void copy_async_wait() { asm volatile("cp.async.wait_group 0;" ::: "memory"); }

__device__ inline void store_shared(std::uint32_t dst, std::uint16_t v) {
  asm volatile("st.shared.b16 [%0], %1;\n" ::"r"(dst), "h"(v) : "memory");
}
__device__ inline void store_shared(std::uint32_t dst, const std::uint32_t (&v)[4]) {
  asm volatile("st.shared.v4.b32 [%0], {%1, %2, %3, %4};\n" ::"r"(dst), "r"(v[0]), "r"(v[1]),
               "r"(v[2]), "r"(v[3]) : "memory");
}

}  // namespace tessera::kernels::cuda::detail
