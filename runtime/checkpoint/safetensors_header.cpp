#include "runtime/checkpoint/safetensors_header.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/core/error.hpp"
#include "runtime/core/json_parse.hpp"

namespace tessera::runtime {

namespace {

using nlohmann::json;

// Nesting deeper than this cannot be a tensor table; stopping early bounds memory and time.
constexpr int kMaxHeaderDepth = 16;

[[noreturn]] void fail(const MappedFile& file, const std::string& what,
                       ErrorCategory category = ErrorCategory::checkpoint) {
  throw Error(category, "safetensors file '" + file.path().string() + "': " + what);
}

[[noreturn]] void fail_tensor(const MappedFile& file, const std::string& name,
                              const std::string& what,
                              ErrorCategory category = ErrorCategory::checkpoint) {
  fail(file, "tensor '" + name + "': " + what, category);
}

std::optional<DType> dtype_from_name(std::string_view s) {
  if (s == "F32") return DType::f32;
  if (s == "F16") return DType::f16;
  if (s == "BF16") return DType::bf16;
  if (s == "F8_E4M3") return DType::f8_e4m3;
  return std::nullopt;
}

// Dtypes the safetensors format defines but tessera does not load: valid files, so "unsupported"
// rather than "corrupt".
bool is_other_safetensors_dtype(std::string_view s) {
  static constexpr std::array<std::string_view, 16> known = {
      "BOOL", "U8",  "I8",  "I16",     "U16",     "I32",     "U32",     "I64",
      "U64",  "F64", "C64", "F4",      "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2"};
  return std::find(known.begin(), known.end(), s) != known.end();
}

// A non-negative JSON integer, or nullopt for anything else (floats, negatives, strings...).
std::optional<std::uint64_t> as_unsigned(const json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(v.get<std::int64_t>());
  }
  return std::nullopt;
}

json parse_header_json(const MappedFile& file, std::string_view text) {
  return parse_json(text, "safetensors file '" + file.path().string() + "': header",
                    ErrorCategory::checkpoint, kMaxHeaderDepth);
}

struct Range {
  std::uint64_t begin, end;
  const std::string* name;
};

TensorInfo parse_entry(const MappedFile& file, const std::string& name, const json& entry,
                       const std::byte* buffer, std::uint64_t buffer_size, Range& range) {
  if (!entry.is_object()) {
    fail_tensor(file, name, std::string("expected an object with dtype, shape and data_offsets, found ") +
                                entry.type_name());
  }
  TensorInfo info;
  info.name = name;
  info.file = file.path();

  const auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string()) {
    fail_tensor(file, name, "field 'dtype' missing or not a string");
  }
  const auto dtype_name = dtype_it->get<std::string>();
  if (const auto dtype = dtype_from_name(dtype_name)) {
    info.dtype = *dtype;
  } else if (is_other_safetensors_dtype(dtype_name)) {
    fail_tensor(file, name, "dtype '" + dtype_name + "' is not supported (expected F32, F16, BF16 or F8_E4M3)",
                ErrorCategory::unsupported);
  } else {
    fail_tensor(file, name, "unknown dtype '" + dtype_name + "' (expected F32, F16, BF16 or F8_E4M3)");
  }

  const auto shape_it = entry.find("shape");
  if (shape_it == entry.end() || !shape_it->is_array()) {
    fail_tensor(file, name, "field 'shape' missing or not an array");
  }
  std::uint64_t numel = 1;
  for (const auto& dim : *shape_it) {
    const auto d = as_unsigned(dim);
    if (!d) fail_tensor(file, name, "shape " + shape_it->dump() + " has a dimension that is not a non-negative integer");
    // Each dimension and every partial product fits int64, so numel() (which multiplies in this
    // order, in int64) stays exact: with a zero dimension last, as in [2^62, 2, 0], checking
    // only the final product would let an earlier partial product overflow it.
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (*d > kMax || __builtin_mul_overflow(numel, *d, &numel) || numel > kMax) {
      fail_tensor(file, name, "shape " + shape_it->dump() + " has too many elements");
    }
    info.shape.push_back(static_cast<std::int64_t>(*d));
  }

  const auto offsets_it = entry.find("data_offsets");
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2) {
    fail_tensor(file, name, "field 'data_offsets' missing or not a [begin, end] pair");
  }
  const auto begin = as_unsigned((*offsets_it)[0]);
  const auto end = as_unsigned((*offsets_it)[1]);
  if (!begin || !end) {
    fail_tensor(file, name, "data_offsets " + offsets_it->dump() + " are not non-negative integers");
  }
  if (*begin > *end) {
    fail_tensor(file, name, "data_offsets " + offsets_it->dump() + ": begin is past end");
  }
  if (*end > buffer_size) {
    fail_tensor(file, name, "data_offsets " + offsets_it->dump() + " end past the data buffer of " +
                                std::to_string(buffer_size) + " bytes");
  }
  const std::uint64_t nbytes = *end - *begin;
  std::uint64_t expected = 0;
  if (__builtin_mul_overflow(numel, dtype_size(info.dtype), &expected) || expected != nbytes) {
    fail_tensor(file, name, "shape " + shape_it->dump() + " of " + dtype_name + " needs " +
                                std::to_string(numel) + " x " + std::to_string(dtype_size(info.dtype)) +
                                " bytes but data_offsets " + offsets_it->dump() + " span " +
                                std::to_string(nbytes));
  }
  info.data = buffer + *begin;
  info.nbytes = static_cast<std::size_t>(nbytes);
  range = Range{*begin, *end, nullptr};
  return info;
}

}  // namespace

std::vector<TensorInfo> parse_safetensors_header(const MappedFile& file) {
  const auto bytes = file.bytes();
  if (bytes.size() < 8) {
    fail(file, "file is " + std::to_string(bytes.size()) +
                   " bytes, shorter than the 8-byte header length that starts every safetensors file");
  }
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) {
    header_len = (header_len << 8) | std::to_integer<std::uint64_t>(bytes[static_cast<std::size_t>(i)]);
  }
  const std::uint64_t after_length = bytes.size() - 8;
  if (header_len > kMaxSafetensorsHeaderBytes) {
    fail(file, "header length " + std::to_string(header_len) + " is larger than the " +
                   std::to_string(kMaxSafetensorsHeaderBytes) + "-byte limit (corrupt file?)");
  }
  if (header_len > after_length) {
    fail(file, "header length " + std::to_string(header_len) + " runs past the end of the file (only " +
                   std::to_string(after_length) + " bytes follow the length)");
  }
  const auto* text = reinterpret_cast<const char*>(bytes.data() + 8);
  const json header = parse_header_json(file, std::string_view(text, header_len));
  if (!header.is_object()) {
    fail(file, std::string("header must be a JSON object of tensors, found ") + header.type_name());
  }

  const std::byte* buffer = bytes.data() + 8 + header_len;
  const std::uint64_t buffer_size = after_length - header_len;
  std::vector<TensorInfo> tensors;
  std::vector<Range> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;  // free-form strings; nothing tessera needs
    Range range{};
    tensors.push_back(parse_entry(file, name, entry, buffer, buffer_size, range));
    ranges.push_back(range);
  }
  for (std::size_t i = 0; i < ranges.size(); ++i) ranges[i].name = &tensors[i].name;

  // Overlapping tensors would alias each other's bytes: a sign of a corrupt or hostile file.
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin || (a.begin == b.begin && a.end < b.end); });
  const Range* previous = nullptr;
  for (const auto& r : ranges) {
    if (r.begin == r.end) continue;  // an empty tensor occupies no bytes
    if (previous != nullptr && r.begin < previous->end) {
      fail(file, "tensors '" + *previous->name + "' [" + std::to_string(previous->begin) + ", " +
                     std::to_string(previous->end) + ") and '" + *r.name + "' [" +
                     std::to_string(r.begin) + ", " + std::to_string(r.end) + ") overlap");
    }
    previous = &r;
  }
  return tensors;
}

}  // namespace tessera::runtime
