// A rank's block tables from the plans' deltas, and the forward batch built from them: whole
// tables replace, deltas append, releases drop, and a delta the rank cannot continue is an error
// that names the sequence (never a batch that reads someone else's cache blocks).
#include <gtest/gtest.h>

#include "actors/block_tables.hpp"
#include "runtime/core/error.hpp"

namespace tessera::actors {
namespace {

SequenceStep step(std::uint64_t id, std::int32_t first_position, std::vector<std::int32_t> tokens,
                  std::int32_t block_offset, std::vector<std::int32_t> blocks) {
  SequenceStep s;
  s.seq_id = id;
  s.first_position = first_position;
  s.tokens = std::move(tokens);
  s.block_offset = block_offset;
  s.block_table = std::move(blocks);
  return s;
}

StepPlan plan_of(std::vector<SequenceStep> sequences, std::vector<std::uint64_t> released = {}) {
  StepPlan plan;
  plan.sequences = std::move(sequences);
  plan.released = std::move(released);
  return plan;
}

std::string error_of(BlockTables& tables, const StepPlan& plan) {
  try {
    tables.apply(plan);
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::internal);
    return e.what();
  }
  return "";
}

TEST(BlockTables, WholeTablesReplaceAndDeltasAppend) {
  BlockTables tables;
  tables.apply(plan_of({step(1, 0, {5, 6}, 0, {7, 3})}));
  EXPECT_EQ(tables.table(1), (std::vector<std::int32_t>{7, 3}));
  tables.apply(plan_of({step(1, 2, {8}, 2, {9})}));
  EXPECT_EQ(tables.table(1), (std::vector<std::int32_t>{7, 3, 9}));
  tables.apply(plan_of({step(1, 3, {8}, 3, {})}));  // nothing new
  EXPECT_EQ(tables.table(1).size(), 3u);
  tables.apply(plan_of({step(1, 0, {1, 2, 3}, 0, {4})}));  // after a preemption: all anew
  EXPECT_EQ(tables.table(1), (std::vector<std::int32_t>{4}));
}

TEST(BlockTables, ReleasedSequencesAreDroppedBeforeThePlanApplies) {
  BlockTables tables;
  tables.apply(plan_of({step(1, 0, {5}, 0, {2}), step(2, 0, {5}, 0, {3})}));
  EXPECT_EQ(tables.size(), 2u);
  tables.apply(plan_of({}, {1}));
  EXPECT_FALSE(tables.contains(1));
  EXPECT_TRUE(tables.contains(2));
  // The same id released and started again in one plan: the new whole table wins.
  tables.apply(plan_of({step(2, 0, {5}, 0, {8})}, {2}));
  EXPECT_EQ(tables.table(2), std::vector<std::int32_t>{8});
}

TEST(BlockTables, ADeltaTheRankCannotContinueIsAnError) {
  BlockTables tables;
  // A rank that never saw the sequence (a re-joined worker) gets a delta.
  EXPECT_NE(error_of(tables, plan_of({step(4, 16, {1}, 1, {9})})).find("sequence 4"),
            std::string::npos);
  tables.apply(plan_of({step(4, 0, {1}, 0, {2})}));
  const auto gap = error_of(tables, plan_of({step(4, 32, {1}, 2, {9})}));
  EXPECT_NE(gap.find("continues at block 2 but this rank holds 1"), std::string::npos) << gap;
  EXPECT_NE(error_of(tables, plan_of({step(4, 0, {1}, -1, {9})})).find("starts at block -1"),
            std::string::npos);
  EXPECT_THROW(tables.table(99), Error);
}

TEST(BlockTables, BatchSlotsFollowTheTables) {
  // Block size 4. Sequence 2 holds {1, 2, 5} from an earlier step; this plan gives sequence 1 its
  // whole table {7, 3} (a prefill of positions 0-5) and sequence 2 the delta {6} (a decode at 9).
  BlockTables tables;
  tables.apply(plan_of({step(2, 0, {1, 2, 3, 4, 5, 6, 7, 8, 9}, 0, {1, 2, 5})}));
  const auto plan =
      plan_of({step(1, 0, {10, 11, 12, 13, 14, 15}, 0, {7, 3}), step(2, 9, {42}, 3, {6})});
  tables.apply(plan);
  runtime::ForwardBatch batch;
  make_batch(plan, tables, 4, batch);
  EXPECT_EQ(batch.token_ids, (std::vector<std::int32_t>{10, 11, 12, 13, 14, 15, 42}));
  EXPECT_EQ(batch.positions, (std::vector<std::int32_t>{0, 1, 2, 3, 4, 5, 9}));
  // Position p of a sequence goes to slot table[p / 4] * 4 + p % 4.
  EXPECT_EQ(batch.slots, (std::vector<std::int64_t>{7 * 4, 7 * 4 + 1, 7 * 4 + 2, 7 * 4 + 3,
                                                    3 * 4, 3 * 4 + 1, 5 * 4 + 1}));
  ASSERT_EQ(batch.sequences.size(), 2u);
  EXPECT_EQ(batch.sequences[0].first_token, 0);
  EXPECT_EQ(batch.sequences[0].token_count, 6);
  EXPECT_EQ(batch.sequences[0].block_table, (std::vector<std::int32_t>{7, 3}));
  EXPECT_EQ(batch.sequences[1].first_token, 6);
  EXPECT_EQ(batch.sequences[1].token_count, 1);
  EXPECT_EQ(batch.sequences[1].block_table, (std::vector<std::int32_t>{1, 2, 5, 6}));
  // The batch is rebuilt in place: a smaller plan leaves nothing of the larger one behind.
  const auto next = plan_of({step(2, 10, {43}, 4, {})});
  tables.apply(next);
  make_batch(next, tables, 4, batch);
  EXPECT_EQ(batch.token_ids, std::vector<std::int32_t>{43});
  EXPECT_EQ(batch.slots, std::vector<std::int64_t>{5 * 4 + 2});
  ASSERT_EQ(batch.sequences.size(), 1u);
  EXPECT_EQ(batch.sequences[0].first_token, 0);
  EXPECT_EQ(batch.sequences[0].block_table, (std::vector<std::int32_t>{1, 2, 5, 6}));
}

TEST(BlockTables, APositionBeyondTheTableIsAnError) {
  BlockTables tables;
  tables.apply(plan_of({step(3, 0, {1, 2, 3, 4}, 0, {0})}));
  runtime::ForwardBatch batch;
  try {
    make_batch(plan_of({step(3, 4, {5}, 1, {})}), tables, 4, batch);  // position 4: block 1
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sequence 3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tessera::actors
