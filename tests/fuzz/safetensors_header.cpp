// A model.safetensors file from the input, opened as a checkpoint and every tensor read, whole
// and in slices, as loading a model does: the header's checks must make every read safe.
//
// Input: one mode byte, then the rest. Mode bit 0 clear: the rest is the whole file. Set: the
// rest is the header JSON alone, and the harness writes the 8-byte length before it and a data
// buffer after it, as long as the largest offset the header mentions (bits 1-2 move it by one
// byte either way). Mutating a raw file rarely keeps its length field and data size consistent
// with the JSON, so without this mode the fuzzer would seldom get past the first checks.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/core/error.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using tessera::runtime::Checkpoint;
using tessera::runtime::TensorSlice;

// Enough for the committed models' shards; more would only slow every execution down.
constexpr std::uint64_t kMaxData = 256u << 10;

// The largest integer written in `text` that is at most kMaxData: the end of the last tensor, in
// a header that is nearly right.
std::uint64_t largest_offset(std::string_view text) {
  std::uint64_t best = 0, value = 0;
  bool in_number = false;
  for (const char c : text) {
    if (c >= '0' && c <= '9') {
      value = in_number ? value * 10 + static_cast<std::uint64_t>(c - '0') : static_cast<std::uint64_t>(c - '0');
      in_number = value <= kMaxData;  // past the cap the number cannot be an offset we write
      if (in_number) best = std::max(best, value);
    } else {
      in_number = false;
    }
  }
  return best;
}

std::string file_from_header(std::string_view header, unsigned adjust) {
  std::string file;
  for (int i = 0; i < 8; ++i) file.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  file += header;
  std::uint64_t data = largest_offset(header);
  if (adjust == 1) data += 1;
  if (adjust == 2 && data > 0) data -= 1;
  // Varied bytes, so that conversions see NaNs, infinities and subnormals too.
  const std::size_t start = file.size();
  file.resize(start + data);
  for (std::uint64_t i = 0; i < data; ++i) file[start + i] = static_cast<char>(i * 131 + (i >> 8));
  return file;
}

void read_every_tensor(const Checkpoint& checkpoint) {
  for (const auto& name : checkpoint.names()) {
    const auto& info = checkpoint.tensor(name);
    if (info.nbytes > 4 * kMaxData) continue;
    (void)checkpoint.read_f32(name);
    // The slices a tensor-parallel rank reads: the second half of the rows, then of the columns.
    if (info.shape.size() == 1 || info.shape.size() == 2) {
      (void)checkpoint.read_f32(name, TensorSlice{info.shape[0] / 2, -1, 0, -1});
    }
    if (info.shape.size() == 2) {
      (void)checkpoint.read_f32(name, TensorSlice{0, -1, info.shape[1] / 2, -1});
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const auto rest = tessera::fuzz::as_text(data + 1, size - 1);
  const std::string file = (mode & 1) ? file_from_header(rest, (mode >> 1) & 3) : std::string(rest);

  const auto& dir = tessera::fuzz::fresh_scratch_dir();
  tessera::fuzz::write_scratch_file("model.safetensors", file);
  try {
    read_every_tensor(Checkpoint::open(dir));
  } catch (const tessera::Error&) {
    // Refusing a bad file, with a message, is the expected outcome.
  }
  return 0;
}
