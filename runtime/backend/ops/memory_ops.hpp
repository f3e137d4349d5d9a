#pragma once
// The memory family of Backend: activations, KV storage, weights and copies to and from the host.
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "runtime/backend/tensor.hpp"
#include "runtime/backend/weight.hpp"
#include "runtime/checkpoint/checkpoint.hpp"

namespace tessera::runtime {

// One checkpoint tensor (or a slice of it) to be stacked into a weight along dimension 0.
struct WeightPiece {
  std::string name;
  TensorSlice slice;
  std::int64_t rows = 0;  // rows this piece contributes
};

class MemoryOps {
 public:
  virtual ~MemoryOps() = default;

  // An activation tensor in the backend's compute type.
  virtual Tensor allocate(std::vector<std::int64_t> shape) = 0;
  // One layer's keys or values for the paged KV cache, zero-filled, in the dtype the backend
  // keeps its cache in (its compute type unless it overrides this: the CUDA backend stores bf16
  // to halve what attention reads). Only the backend itself reads these tensors' elements.
  virtual Tensor allocate_kv(std::vector<std::int64_t> shape) { return allocate(std::move(shape)); }
  // An activation that only feeds linear(). A backend whose products round their input may store
  // it in that narrower type (the CUDA backend: bf16), which saves writing and re-reading the
  // wide values without changing any result. The operations that write one accept it as their
  // out: rms_norm, add_rms_norm, silu_mul, gelu_tanh_mul, attention and rope_attention. Besides
  // linear(), only to_host reads it.
  virtual Tensor allocate_linear_input(std::vector<std::int64_t> shape) {
    return allocate(std::move(shape));
  }
  // The checkpoint formats load_weight accepts; the weight loader refuses any other, naming the
  // tensor, before a byte is read.
  virtual std::span<const WeightFormat> loadable_formats() const = 0;
  // A weight made of checkpoint pieces stacked along dimension 0; `shape` is the result's shape
  // (its rows equal the pieces' rows added up; the caller has checked the checkpoint's shapes
  // and formats). The backend picks the format it holds it in (the CPU dequantizes to f32).
  virtual Weight load_weight(const Checkpoint& checkpoint, std::span<const WeightPiece> pieces,
                             std::vector<std::int64_t> shape) = 0;
  // A small table computed on the host (such as rotary frequencies).
  virtual Tensor upload(std::span<const float> values, std::vector<std::int64_t> shape) = 0;
  virtual void to_host(const Tensor& x, std::span<float> out) = 0;
};

}  // namespace tessera::runtime
