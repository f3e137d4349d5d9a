#include "actors/block_tables.hpp"

#include <string>

#include "runtime/core/error.hpp"

namespace tessera::actors {
namespace {

Error mismatch(std::uint64_t seq_id, const std::string& what) {
  return Error(ErrorCategory::internal,
               "sequence " + std::to_string(seq_id) + ": the plan's block table " + what);
}

}  // namespace

void BlockTables::apply(const StepPlan& plan) {
  for (const auto id : plan.released) tables_.erase(id);
  for (const auto& seq : plan.sequences) {
    if (seq.block_offset == 0) {  // the whole table: replaces whatever this rank held
      tables_[seq.seq_id].assign(seq.block_table.begin(), seq.block_table.end());
      continue;
    }
    const auto it = tables_.find(seq.seq_id);
    if (seq.block_offset < 0) {
      throw mismatch(seq.seq_id, "starts at block " + std::to_string(seq.block_offset));
    }
    if (it == tables_.end()) {
      throw mismatch(seq.seq_id, "continues at block " + std::to_string(seq.block_offset) +
                                     " but this rank holds no table for it");
    }
    auto& table = it->second;
    if (std::ssize(table) != seq.block_offset) {
      throw mismatch(seq.seq_id, "continues at block " + std::to_string(seq.block_offset) +
                                     " but this rank holds " + std::to_string(table.size()));
    }
    table.insert(table.end(), seq.block_table.begin(), seq.block_table.end());
  }
}

const std::vector<std::int32_t>& BlockTables::table(std::uint64_t seq_id) const {
  const auto it = tables_.find(seq_id);
  if (it == tables_.end()) throw mismatch(seq_id, "was never sent to this rank");
  return it->second;
}

void make_batch(const StepPlan& plan, const BlockTables& tables, std::int64_t block_size,
                runtime::ForwardBatch& batch) {
  batch.token_ids.clear();
  batch.positions.clear();
  batch.slots.clear();
  // resize, not clear: each entry's table keeps its capacity for the next step's copy.
  batch.sequences.resize(plan.sequences.size());
  for (std::size_t s = 0; s < plan.sequences.size(); ++s) {
    const auto& seq = plan.sequences[s];
    const auto& table = tables.table(seq.seq_id);
    auto& entry = batch.sequences[s];
    entry.first_token = static_cast<std::int64_t>(batch.token_ids.size());
    entry.token_count = static_cast<std::int64_t>(seq.tokens.size());
    entry.block_table.assign(table.begin(), table.end());
    const std::int64_t end = seq.first_position + std::ssize(seq.tokens);
    if (seq.first_position < 0 || (end > 0 && (end - 1) / block_size >= std::ssize(table))) {
      throw mismatch(seq.seq_id, "has " + std::to_string(table.size()) +
                                     " blocks, too few for positions up to " +
                                     std::to_string(end - 1));
    }
    for (std::size_t i = 0; i < seq.tokens.size(); ++i) {
      const std::int64_t position = seq.first_position + static_cast<std::int64_t>(i);
      batch.token_ids.push_back(seq.tokens[i]);
      batch.positions.push_back(static_cast<std::int32_t>(position));
      batch.slots.push_back(
          static_cast<std::int64_t>(table[static_cast<std::size_t>(position / block_size)]) *
              block_size +
          position % block_size);
    }
  }
}

}  // namespace tessera::actors
