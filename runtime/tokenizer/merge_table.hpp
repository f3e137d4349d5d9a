#pragma once
// Open-addressing hash table from a pair of token ids to the merge that joins them. Merge lookups
// dominate BPE time, and a flat table keeps each probe to one or two cache lines.
#include <cstdint>
#include <optional>
#include <vector>

namespace tessera::runtime {

struct Merge {
  std::int32_t rank;    // lower merges first
  std::int32_t result;  // id of the joined token
};

class MergeTable {
 public:
  void reserve(std::size_t count);
  // Keeps the first (lowest-rank) entry when a pair repeats, like HF.
  void insert(std::int32_t left, std::int32_t right, Merge merge);
  const Merge* find(std::int32_t left, std::int32_t right) const {
    if (slots_.empty()) return nullptr;
    const std::uint64_t key = pack(left, right);
    for (std::size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.merge;
      if (s.key == empty_key) return nullptr;
    }
  }
  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint64_t empty_key = ~std::uint64_t{0};
  struct Slot {
    std::uint64_t key = empty_key;
    Merge merge{};
  };
  static std::uint64_t pack(std::int32_t a, std::int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
           static_cast<std::uint32_t>(b);
  }
  static std::size_t hash(std::uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return static_cast<std::size_t>(key);
  }
  void grow();

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace tessera::runtime
