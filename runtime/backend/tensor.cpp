#include "runtime/backend/tensor.hpp"

#include <functional>
#include <numeric>
#include <utility>

namespace tessera::runtime {

Tensor::Tensor(std::shared_ptr<void> storage, void* data, DType dtype,
               std::vector<std::int64_t> shape, Device device)
    : storage_(std::move(storage)), data_(data), dtype_(dtype), shape_(std::move(shape)),
      device_(device) {}

Tensor Tensor::host_f32(std::vector<std::int64_t> shape) {
  const std::int64_t count =
      std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
  auto storage = std::shared_ptr<float[]>(new float[static_cast<std::size_t>(count)]());
  float* data = storage.get();
  return Tensor(std::shared_ptr<void>(storage, data), data, DType::f32, std::move(shape),
                Device::cpu);
}

std::int64_t Tensor::numel() const {
  return std::accumulate(shape_.begin(), shape_.end(), std::int64_t{1}, std::multiplies<>());
}

}  // namespace tessera::runtime
