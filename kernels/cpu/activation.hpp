#pragma once
#include <cstdint>

namespace tessera::kernels::cpu {

// The SiLU-gated MLP's middle: out[r, j] = silu(gate_up[r, j]) * gate_up[r, width + j], where
// each row of gate_up holds the gate projection followed by the up projection.
void silu_mul(const float* gate_up, std::int64_t rows, std::int64_t width, float* out);

// Gemma's MLP middle, laid out as silu_mul: out[r, j] = gelu_tanh(gate) * up, where
// gelu_tanh(x) = 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))) (PyTorch's approximate="tanh").
void gelu_tanh_mul(const float* gate_up, std::int64_t rows, std::int64_t width, float* out);

// x *= factor, elementwise.
void scale_inplace(float* x, float factor, std::int64_t count);

// acc += x, elementwise.
void add_inplace(float* acc, const float* x, std::int64_t count);

}  // namespace tessera::kernels::cpu
