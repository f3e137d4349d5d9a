#pragma once
// A Hugging Face model folder's weights: `model.safetensors`, or the shards named by
// `model.safetensors.index.json`. Files are memory-mapped once and every header is validated when
// the checkpoint opens; tensor bytes are touched only when a caller reads them, and a reader can
// take just a block of rows or columns (a tensor-parallel slice) without reading the rest.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/dtype.hpp"

namespace tessera::runtime {

class MappedFile;

struct TensorInfo {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  const std::byte* data = nullptr;  // inside the mapping, valid while the Checkpoint lives
  std::size_t nbytes = 0;
  std::filesystem::path file;

  std::int64_t numel() const;
};

// Half-open index ranges of a 1-D or 2-D tensor; an end of -1 means "to the end of that
// dimension", so the default slice is the whole tensor. Other ranks are read whole only.
struct TensorSlice {
  std::int64_t row_begin = 0, row_end = -1;  // dimension 0
  std::int64_t col_begin = 0, col_end = -1;  // dimension 1 (2-D tensors only)
};

class Checkpoint {
 public:
  // Opens `model.safetensors.index.json` if present, else `model.safetensors`, in `model_dir`.
  // Throws Error(checkpoint or io) naming the file and what is wrong.
  static Checkpoint open(const std::filesystem::path& model_dir);

  Checkpoint(Checkpoint&&) noexcept;
  Checkpoint& operator=(Checkpoint&&) noexcept;
  ~Checkpoint();

  bool contains(std::string_view name) const;
  // Throws Error(checkpoint) naming the tensor and the model folder when it is absent.
  const TensorInfo& tensor(std::string_view name) const;
  std::vector<std::string> names() const;

  // Reads `slice` of the tensor, converted to f32, into `out` (row-major, exactly the slice's
  // element count or an Error naming the tensor). Only the bytes of the slice are read.
  void read_f32(std::string_view name, std::span<float> out, const TensorSlice& slice = {}) const;
  // The same, allocating.
  std::vector<float> read_f32(std::string_view name, const TensorSlice& slice = {}) const;
  // Reads `slice` of the tensor as stored (its dtype's bytes, row-major) into `out`, which holds
  // exactly the slice's elements times dtype_size, or an Error naming the tensor. For backends
  // that keep a weight in its stored format (a 1-byte FP8 weight stays 1 byte).
  void read_raw(std::string_view name, std::span<std::byte> out, const TensorSlice& slice = {}) const;

  const std::filesystem::path& directory() const { return dir_; }

 private:
  Checkpoint() = default;
  std::filesystem::path dir_;
  std::vector<std::unique_ptr<MappedFile>> files_;
  std::map<std::string, TensorInfo, std::less<>> tensors_;
};

}  // namespace tessera::runtime
