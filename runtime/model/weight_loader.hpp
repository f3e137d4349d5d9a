#pragma once
// Reads a rank's weights from a checkpoint onto a backend, checking every tensor's shape against
// what config.json implies, and its format against what the backend loads, before any byte is
// read.
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/backend/backend.hpp"

namespace tessera::runtime {

class WeightLoader {
 public:
  WeightLoader(const Checkpoint& checkpoint, Backend& backend)
      : checkpoint_(checkpoint), backend_(backend) {}

  // A whole tensor of the given full shape.
  Weight whole(const std::string& name, std::vector<std::int64_t> shape);
  // Rows [begin, begin + count) of a tensor of shape full_shape (1-D or 2-D).
  struct RowBlock {
    std::string name;
    std::vector<std::int64_t> full_shape;
    std::int64_t begin = 0;
    std::int64_t count = 0;
  };
  // The blocks stacked in order into one weight (fused q/k/v or gate/up projections). All blocks
  // have the same number of columns.
  Weight stacked_rows(const std::vector<RowBlock>& blocks);
  // Columns [begin, begin + count) of a 2-D tensor.
  Weight columns(const std::string& name, std::vector<std::int64_t> full_shape,
                 std::int64_t begin, std::int64_t count);
  // Columns [begin, begin + count) of each of these 2-D tensors of one full shape, stacked in
  // order along the rows (the down projections of the experts a rank holds).
  Weight stacked_columns(const std::vector<std::string>& names,
                         const std::vector<std::int64_t>& full_shape, std::int64_t begin,
                         std::int64_t count);

  bool contains(const std::string& name) const { return checkpoint_.contains(name); }

 private:
  void check_tensor(const std::string& name, const std::vector<std::int64_t>& expected) const;

  const Checkpoint& checkpoint_;
  Backend& backend_;
};

}  // namespace tessera::runtime
