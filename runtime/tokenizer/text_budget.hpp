#pragma once
// How much text tokenizer components may make from their input. tokenizer.json can chain
// Replace steps that each double the text, prepend a megabyte to every piece, or stack byte-level
// mappings, so one short request could exhaust memory. Real pipelines grow text a few times at
// most (NFKC decompositions, byte-level mapping, "▁" for a space), far inside this bound.
#include <cstddef>
#include <string_view>

namespace tessera::runtime {

inline constexpr std::size_t kMaxTextGrowthFactor = 32;
inline constexpr std::size_t kTextGrowthAllowance = 4096;

class TextBudget {
 public:
  // Output may reach kMaxTextGrowthFactor * input_bytes + kTextGrowthAllowance bytes.
  explicit TextBudget(std::size_t input_bytes);

  std::size_t max_bytes() const { return max_; }
  // The budget left once `used` bytes of output exist (none when they exceed it).
  TextBudget after(std::size_t used) const;
  // Throws Error(tokenizer) naming `component` and the limit when `bytes` is over it.
  void check(std::size_t bytes, std::string_view component) const {
    if (bytes > max_) exceeded(component);
  }
  [[noreturn]] void exceeded(std::string_view component) const;

 private:
  TextBudget(std::size_t input_bytes, std::size_t max) : input_(input_bytes), max_(max) {}
  std::size_t input_;
  std::size_t max_;
};

}  // namespace tessera::runtime
