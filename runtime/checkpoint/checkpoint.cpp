#include "runtime/checkpoint/checkpoint.hpp"

#include <cstring>

#include <set>
#include <system_error>

#include "runtime/checkpoint/checkpoint_index.hpp"
#include "runtime/checkpoint/mapped_file.hpp"
#include "runtime/checkpoint/safetensors_header.hpp"
#include "runtime/core/error.hpp"

namespace tessera::runtime {

namespace {

constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr const char* kSingleName = "model.safetensors";

bool file_exists(const std::filesystem::path& p) {
  std::error_code ec;  // a permission problem reads as "absent"; opening it then reports the cause
  return std::filesystem::exists(p, ec);
}

// A validated slice in element indices: rows [row_begin, row_end) of `row_len` elements each,
// of which columns [col_begin, col_end) are wanted.
struct ResolvedSlice {
  std::int64_t row_begin, row_end, col_begin, col_end, row_len;
  std::size_t count() const {
    return static_cast<std::size_t>((row_end - row_begin) * (col_end - col_begin));
  }
};

[[noreturn]] void fail_read(const TensorInfo& t, const std::string& what) {
  throw Error(ErrorCategory::checkpoint,
              "reading tensor '" + t.name + "' from '" + t.file.string() + "': " + what);
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void resolve_range(const TensorInfo& t, const char* what, std::int64_t begin, std::int64_t end,
                   std::int64_t dim, std::int64_t& out_begin, std::int64_t& out_end) {
  const std::int64_t e = end == -1 ? dim : end;
  if (begin < 0 || e < begin || e > dim) {
    fail_read(t, std::string(what) + " range [" + std::to_string(begin) + ", " + std::to_string(end) +
                     ") does not fit dimension of size " + std::to_string(dim) + " (shape " +
                     shape_string(t.shape) + ")");
  }
  out_begin = begin;
  out_end = e;
}

ResolvedSlice resolve_slice(const TensorInfo& t, const TensorSlice& s) {
  const bool whole_cols = s.col_begin == 0 && s.col_end == -1;
  const bool whole_rows = s.row_begin == 0 && s.row_end == -1;
  ResolvedSlice r{};
  switch (t.shape.size()) {
    case 1:
      if (!whole_cols) fail_read(t, "a 1-D tensor can be sliced by rows only, not by columns");
      resolve_range(t, "row", s.row_begin, s.row_end, t.shape[0], r.row_begin, r.row_end);
      r.col_begin = 0;
      r.col_end = r.row_len = 1;
      return r;
    case 2:
      resolve_range(t, "row", s.row_begin, s.row_end, t.shape[0], r.row_begin, r.row_end);
      resolve_range(t, "column", s.col_begin, s.col_end, t.shape[1], r.col_begin, r.col_end);
      r.row_len = t.shape[1];
      return r;
    default:
      // Scalars and rank > 2 tensors are read whole: as one row holding every element.
      if (!whole_cols || !whole_rows) {
        fail_read(t, "only 1-D and 2-D tensors can be sliced; this one has shape " + shape_string(t.shape));
      }
      r.row_begin = 0;
      r.row_end = 1;
      r.col_begin = 0;
      r.col_end = r.row_len = t.numel();
      return r;
  }
}

}  // namespace

std::int64_t TensorInfo::numel() const {
  std::int64_t n = 1;
  for (const auto d : shape) n *= d;  // overflow ruled out when the header was validated
  return n;
}

Checkpoint::Checkpoint(Checkpoint&&) noexcept = default;
Checkpoint& Checkpoint::operator=(Checkpoint&&) noexcept = default;
Checkpoint::~Checkpoint() = default;

Checkpoint Checkpoint::open(const std::filesystem::path& model_dir) {
  Checkpoint ckpt;
  ckpt.dir_ = model_dir;
  const auto index_path = model_dir / kIndexName;
  const auto single_path = model_dir / kSingleName;

  auto add_file = [&ckpt](const std::filesystem::path& path) {
    ckpt.files_.push_back(MappedFile::open(path));
    for (auto& info : parse_safetensors_header(*ckpt.files_.back())) {
      const auto it = ckpt.tensors_.find(info.name);
      if (it != ckpt.tensors_.end()) {
        throw Error(ErrorCategory::checkpoint, "tensor '" + info.name + "' appears in both '" +
                                                   it->second.file.string() + "' and '" +
                                                   path.string() + "'");
      }
      auto name = info.name;
      ckpt.tensors_.emplace(std::move(name), std::move(info));
    }
  };

  if (file_exists(index_path)) {
    const auto index_file = MappedFile::open(index_path);
    const auto bytes = index_file->bytes();
    const auto weight_map = parse_checkpoint_index(
        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), index_path);
    std::map<std::string, std::string> first_tensor_of_shard;  // for naming a missing shard
    for (const auto& [name, shard] : weight_map) first_tensor_of_shard.emplace(shard, name);
    for (const auto& [shard, example] : first_tensor_of_shard) {
      const auto shard_path = model_dir / shard;
      if (!file_exists(shard_path)) {
        throw Error(ErrorCategory::io, "checkpoint index '" + index_path.string() + "' names shard '" +
                                           shard + "' (for tensor '" + example + "'), but '" +
                                           shard_path.string() + "' does not exist");
      }
      add_file(shard_path);
    }
    for (const auto& [name, shard] : weight_map) {
      const auto it = ckpt.tensors_.find(name);
      if (it == ckpt.tensors_.end() || it->second.file != model_dir / shard) {
        throw Error(ErrorCategory::checkpoint,
                    "checkpoint index '" + index_path.string() + "' puts tensor '" + name + "' in '" +
                        (model_dir / shard).string() + "', but that file does not contain it" +
                        (it == ckpt.tensors_.end() ? "" : " (found in '" + it->second.file.string() + "')"));
      }
    }
  } else if (file_exists(single_path)) {
    add_file(single_path);
  } else {
    throw Error(ErrorCategory::io, "no checkpoint in '" + model_dir.string() + "': expected '" +
                                       kIndexName + "' or '" + kSingleName + "'");
  }
  return ckpt;
}

bool Checkpoint::contains(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }

const TensorInfo& Checkpoint::tensor(std::string_view name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    throw Error(ErrorCategory::checkpoint, "tensor '" + std::string(name) +
                                               "' is not in the checkpoint in '" + dir_.string() + "'");
  }
  return it->second;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [name, info] : tensors_) out.push_back(name);
  return out;
}

namespace {

// Calls run(source, first element, element count) for each contiguous run of the slice in the
// mapping: one run for whole rows, one per row for a column block, so a rank reads just its slice.
template <class Run>
void for_each_run(const TensorInfo& t, const ResolvedSlice& r, Run run) {
  const std::size_t esz = dtype_size(t.dtype);
  const auto row_len = static_cast<std::size_t>(r.row_len);
  const auto width = static_cast<std::size_t>(r.col_end - r.col_begin);
  if (width == row_len) {
    run(t.data + static_cast<std::size_t>(r.row_begin) * row_len * esz, std::size_t{0}, r.count());
    return;
  }
  std::size_t done = 0;
  for (auto row = static_cast<std::size_t>(r.row_begin); row < static_cast<std::size_t>(r.row_end); ++row) {
    run(t.data + (row * row_len + static_cast<std::size_t>(r.col_begin)) * esz, done, width);
    done += width;
  }
}

}  // namespace

void Checkpoint::read_f32(std::string_view name, std::span<float> out, const TensorSlice& slice) const {
  const TensorInfo& t = tensor(name);
  const ResolvedSlice r = resolve_slice(t, slice);
  if (out.size() != r.count()) {
    fail_read(t, "output holds " + std::to_string(out.size()) + " floats but the slice has " +
                     std::to_string(r.count()) + " elements");
  }
  if (r.count() == 0) return;
  for_each_run(t, r, [&](const std::byte* src, std::size_t first, std::size_t count) {
    convert_to_f32(t.dtype, src, count, out.data() + first);
  });
}

void Checkpoint::read_raw(std::string_view name, std::span<std::byte> out, const TensorSlice& slice) const {
  const TensorInfo& t = tensor(name);
  const ResolvedSlice r = resolve_slice(t, slice);
  const std::size_t esz = dtype_size(t.dtype);
  if (out.size() != r.count() * esz) {
    fail_read(t, "output holds " + std::to_string(out.size()) + " bytes but the slice has " +
                     std::to_string(r.count()) + " elements of " + std::to_string(esz) + " bytes");
  }
  if (r.count() == 0) return;
  for_each_run(t, r, [&](const std::byte* src, std::size_t first, std::size_t count) {
    std::memcpy(out.data() + first * esz, src, count * esz);
  });
}

std::vector<float> Checkpoint::read_f32(std::string_view name, const TensorSlice& slice) const {
  const TensorInfo& t = tensor(name);
  std::vector<float> out(resolve_slice(t, slice).count());
  read_f32(name, out, slice);
  return out;
}

}  // namespace tessera::runtime
