#pragma once
// A shard's copy of every live sequence's KV block table, kept up to date by the plans' deltas
// (SequenceStep::block_offset), and the forward batch built from it. Every rank keeps its own,
// on whatever process it runs: each rank receives every plan. Plans carry a sequence's whole
// table whenever its rank may not hold it (first step, after a preemption, after the group
// re-formed), so a rank that starts empty (a re-joined worker) catches up at once; a delta for
// a table the rank does not hold fails the step with an error naming the sequence instead of
// reading the wrong cache blocks.
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "actors/message_data.hpp"
#include "runtime/kv/forward_batch.hpp"

namespace tessera::actors {

class BlockTables {
 public:
  // Drops the plan's released sequences, then brings each planned sequence's table up to date.
  // Throws Error(internal) naming the sequence when a delta does not continue the table held
  // (or a table is out of range): the plan and this rank disagree.
  void apply(const StepPlan& plan);
  // The whole table of a sequence applied before; throws Error(internal) when there is none.
  const std::vector<std::int32_t>& table(std::uint64_t seq_id) const;
  bool contains(std::uint64_t seq_id) const { return tables_.count(seq_id) != 0; }
  std::size_t size() const { return tables_.size(); }
  void clear() { tables_.clear(); }

 private:
  std::unordered_map<std::uint64_t, std::vector<std::int32_t>> tables_;
};

// The forward batch of `plan` (its tables applied already) written into `batch`, whose vectors
// keep their capacity from one step to the next. Throws Error(internal) naming the sequence when
// a token's position lies beyond its table.
void make_batch(const StepPlan& plan, const BlockTables& tables, std::int64_t block_size,
                runtime::ForwardBatch& batch);

}  // namespace tessera::actors
