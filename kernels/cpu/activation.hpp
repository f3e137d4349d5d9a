#pragma once
#include <cstdint>

namespace tessera::kernels::cpu {

// The SiLU-gated MLP's middle: out[r, j] = silu(gate_up[r, j]) * gate_up[r, width + j], where
// each row of gate_up holds the gate projection followed by the up projection.
void silu_mul(const float* gate_up, std::int64_t rows, std::int64_t width, float* out);

// acc += x, elementwise.
void add_inplace(float* acc, const float* x, std::int64_t count);

}  // namespace tessera::kernels::cpu
