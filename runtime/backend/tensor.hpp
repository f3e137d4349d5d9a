#pragma once
// A handle to an n-dimensional block of memory on some device. Copies share the storage; the
// backend that allocated a tensor is the only one that reads or writes its elements.
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/core/dtype.hpp"

namespace tessera::runtime {

enum class Device : std::uint8_t { cpu, cuda };

class Tensor {
 public:
  Tensor() = default;
  Tensor(std::shared_ptr<void> storage, void* data, DType dtype, std::vector<std::int64_t> shape,
         Device device);

  // Host memory of f32 zeros.
  static Tensor host_f32(std::vector<std::int64_t> shape);

  bool defined() const { return data_ != nullptr; }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  const std::vector<std::int64_t>& shape() const { return shape_; }
  std::int64_t dim(std::size_t i) const { return shape_.at(i); }
  std::int64_t numel() const;
  std::int64_t cols() const { return shape_.empty() ? 1 : shape_.back(); }
  std::int64_t rows() const { return cols() == 0 ? 0 : numel() / cols(); }

  template <class T>
  T* data() const {
    return static_cast<T*>(data_);
  }

 private:
  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
  DType dtype_ = DType::f32;
  std::vector<std::int64_t> shape_;
  Device device_ = Device::cpu;
};

}  // namespace tessera::runtime
