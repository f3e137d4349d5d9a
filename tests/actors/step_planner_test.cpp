// The scheduler's decisions without actors: token budget, decode first, chunked prefill,
// admission under block pressure, preemption, and that every block comes back.
#include <gtest/gtest.h>

#include <random>

#include "actors/block_tables.hpp"
#include "actors/step_planner.hpp"

namespace tessera::actors {
namespace {

RequestState seq(std::uint64_t id, std::int64_t prompt_len, std::int64_t max_tokens = 100) {
  RequestState s;
  s.id = id;
  for (std::int64_t i = 0; i < prompt_len; ++i) s.prompt.push_back(static_cast<std::int32_t>(10 + i));
  s.max_tokens = max_tokens;
  s.params.temperature = 0.0f;
  return s;
}

PlannerConfig config(std::int64_t blocks, std::int64_t block_size, std::int64_t budget,
                     std::int64_t max_running = 64) {
  return {blocks, block_size, budget, max_running, {2}};
}

// Answers every sequence that needs a token with `token`.
StepResult answer(const StepPlan& plan, std::int32_t token = 7) {
  StepResult r{plan.step, {}};
  for (const auto& s : plan.sequences) {
    if (s.needs_token) r.tokens.push_back({s.seq_id, token, 0.0f, {}, {}});
  }
  return r;
}

std::int64_t tokens_in(const StepPlan& plan) {
  std::int64_t n = 0;
  for (const auto& s : plan.sequences) n += std::ssize(s.tokens);
  return n;
}

TEST(StepPlanner, ChunkedPrefillRespectsTheBudget) {
  StepPlanner p(config(64, 4, 8));
  p.submit(seq(1, 20));
  auto plan = p.plan();
  ASSERT_EQ(plan.sequences.size(), 1u);
  EXPECT_EQ(plan.sequences[0].tokens.size(), 8u);
  EXPECT_EQ(plan.sequences[0].first_position, 0);
  EXPECT_TRUE(plan.sequences[0].starts);
  EXPECT_FALSE(plan.sequences[0].needs_token);
  EXPECT_EQ(plan.sequences[0].block_offset, 0);  // a first step carries the whole table
  EXPECT_EQ(plan.sequences[0].block_table.size(), 2u);
  BlockTables shard;
  shard.apply(plan);
  p.on_result(answer(plan));
  plan = p.plan();
  shard.apply(plan);
  EXPECT_EQ(plan.sequences[0].block_offset, 2);  // then only the blocks it gained
  EXPECT_EQ(plan.sequences[0].block_table.size(), 2u);
  EXPECT_EQ(plan.sequences[0].first_position, 8);
  EXPECT_FALSE(plan.sequences[0].starts);
  EXPECT_TRUE(plan.sequences[0].prompt.empty());
  p.on_result(answer(plan));
  plan = p.plan();
  shard.apply(plan);
  ASSERT_EQ(plan.sequences[0].tokens.size(), 4u);
  EXPECT_TRUE(plan.sequences[0].needs_token);
  auto out = p.on_result(answer(plan));
  ASSERT_EQ(out.accepted.size(), 1u);
  plan = p.plan();  // decode of the sampled token at position 20
  ASSERT_EQ(plan.sequences.size(), 1u);
  EXPECT_EQ(plan.sequences[0].tokens, std::vector<std::int32_t>{7});
  EXPECT_EQ(plan.sequences[0].first_position, 20);
  EXPECT_EQ(plan.sequences[0].block_offset, 5);
  EXPECT_EQ(plan.sequences[0].block_table.size(), 1u);
  shard.apply(plan);
  EXPECT_EQ(shard.table(1).size(), 6u);  // positions 0-20 at 4 per block
}

TEST(StepPlanner, UnchangedTablesTravelAsEmptyDeltas) {
  StepPlanner p(config(64, 16, 100));
  p.submit(seq(1, 3));
  auto plan = p.plan();
  p.on_result(answer(plan));
  plan = p.plan();  // position 3 still fits the first block
  ASSERT_EQ(plan.sequences.size(), 1u);
  EXPECT_EQ(plan.sequences[0].block_offset, 1);
  EXPECT_TRUE(plan.sequences[0].block_table.empty());
}

TEST(StepPlanner, ANewShardGroupGetsWholeTables) {
  StepPlanner p(config(64, 4, 100));
  p.submit(seq(1, 6));
  auto plan = p.plan();
  p.on_result(answer(plan));
  p.set_shard_group(0);  // the same group: deltas go on
  plan = p.plan();
  EXPECT_EQ(plan.sequences[0].block_offset, 2);
  p.on_result(answer(plan));
  p.set_shard_group(1);  // re-formed: its ranks may have started empty
  plan = p.plan();
  ASSERT_EQ(plan.sequences.size(), 1u);
  EXPECT_EQ(plan.sequences[0].block_offset, 0);
  EXPECT_EQ(plan.sequences[0].block_table.size(), 2u);  // positions 0-7
  BlockTables rejoined;  // a rank that never saw the sequence catches up from this plan alone
  ASSERT_NO_THROW(rejoined.apply(plan));
  EXPECT_EQ(rejoined.table(1).size(), 2u);
}

TEST(StepPlanner, DecodesComeFirstAndTheBudgetHolds) {
  StepPlanner p(config(256, 4, 10));
  p.submit(seq(1, 3));
  p.submit(seq(2, 3));
  auto plan = p.plan();
  EXPECT_EQ(plan.sequences.size(), 2u);
  p.on_result(answer(plan));
  p.submit(seq(3, 30));
  plan = p.plan();
  ASSERT_EQ(plan.sequences.size(), 3u);
  EXPECT_EQ(plan.sequences[0].seq_id, 1u);
  EXPECT_EQ(plan.sequences[0].tokens.size(), 1u);
  EXPECT_EQ(plan.sequences[1].seq_id, 2u);
  EXPECT_EQ(plan.sequences[1].tokens.size(), 1u);
  EXPECT_EQ(plan.sequences[2].seq_id, 3u);
  EXPECT_EQ(plan.sequences[2].tokens.size(), 8u);  // what the budget leaves
  EXPECT_LE(tokens_in(plan), 10);
}

TEST(StepPlanner, MaxRunningLimitsAdmission) {
  StepPlanner p(config(256, 4, 100, 2));
  for (std::uint64_t i = 1; i <= 3; ++i) p.submit(seq(i, 3));
  auto plan = p.plan();
  EXPECT_EQ(plan.sequences.size(), 2u);
  EXPECT_EQ(p.waiting(), 1);
}

TEST(StepPlanner, AdmissionStopsWhenBlocksRunOut) {
  StepPlanner p(config(5, 4, 100));
  p.submit(seq(1, 8));  // 2 blocks
  p.submit(seq(2, 8));  // 2 blocks
  p.submit(seq(3, 8));  // would need 2, only 1 left
  auto plan = p.plan();
  EXPECT_EQ(plan.sequences.size(), 2u);
  EXPECT_EQ(p.free_blocks(), 1);
  EXPECT_EQ(p.waiting(), 1);
  EXPECT_EQ(p.preemptions(), 0);
}

TEST(StepPlanner, PreemptionFreesTheYoungestAndRecomputesIt) {
  StepPlanner p(config(4, 4, 100));
  p.submit(seq(1, 8));
  p.submit(seq(2, 8));
  auto plan = p.plan();  // both prefilled, all 4 blocks taken
  ASSERT_EQ(plan.sequences.size(), 2u);
  EXPECT_EQ(p.free_blocks(), 0);
  p.on_result(answer(plan, 5));
  plan = p.plan();  // both need a third block for position 8: sequence 2 is preempted
  EXPECT_EQ(p.preemptions(), 1);
  ASSERT_EQ(plan.sequences.size(), 1u);
  EXPECT_EQ(plan.sequences[0].seq_id, 1u);
  EXPECT_EQ(p.waiting(), 1);
  p.remove(1);  // sequence 1 finishes: its blocks come back
  p.on_result(answer(plan));
  plan = p.plan();  // sequence 2 recomputes prompt + its generated token, then samples
  ASSERT_EQ(plan.sequences.size(), 1u);
  const auto& s = plan.sequences[0];
  EXPECT_EQ(s.seq_id, 2u);
  EXPECT_FALSE(s.starts);  // rank 0 keeps its sampling state
  EXPECT_EQ(s.block_offset, 0);  // its blocks were given up: the shards get a whole new table
  EXPECT_EQ(s.block_table.size(), 3u);
  EXPECT_EQ(s.first_position, 0);
  ASSERT_EQ(s.tokens.size(), 9u);
  EXPECT_EQ(s.tokens.back(), 5);
  EXPECT_TRUE(s.needs_token);
}

TEST(StepPlanner, EosAndLengthFinishSequences) {
  StepPlanner p(config(64, 4, 100));
  p.submit(seq(1, 3, 2));
  p.submit(seq(2, 3, 10));
  auto plan = p.plan();
  auto out = p.on_result({plan.step, {{1, 9, 0.0f, {}, {}}, {2, 2, 0.0f, {}, {}}}});
  ASSERT_EQ(out.finished.size(), 1u);
  EXPECT_EQ(out.finished[0].seq_id, 2u);
  EXPECT_EQ(out.finished[0].reason, "stop");
  plan = p.plan();
  EXPECT_EQ(plan.released, std::vector<std::uint64_t>{2});
  out = p.on_result(answer(plan, 9));
  ASSERT_EQ(out.finished.size(), 1u);
  EXPECT_EQ(out.finished[0].reason, "length");
  EXPECT_EQ(p.free_blocks(), 64);
}

TEST(StepPlanner, StopTokenIdsFinishSequencesEvenWhenEosIsIgnored) {
  StepPlanner p(config(64, 4, 100));
  auto ignoring = seq(1, 3);
  ignoring.ignore_eos = true;
  ignoring.stop_token_ids = {9};
  p.submit(ignoring);
  auto plan = p.plan();
  auto out = p.on_result(answer(plan, 2));  // the EOS id, ignored
  EXPECT_TRUE(out.finished.empty());
  plan = p.plan();
  out = p.on_result(answer(plan, 9));
  ASSERT_EQ(out.finished.size(), 1u);
  EXPECT_EQ(out.finished[0].reason, "stop");
  EXPECT_EQ(out.accepted.size(), 1u) << "the stop token is generated, as EOS is";
}

TEST(StepPlanner, TokensOfRemovedSequencesAreDiscarded) {
  StepPlanner p(config(64, 4, 100));
  p.submit(seq(1, 3));
  auto plan = p.plan();
  p.remove(1);
  auto out = p.on_result(answer(plan));
  EXPECT_TRUE(out.accepted.empty());
  EXPECT_EQ(p.free_blocks(), 64);
}

TEST(StepPlanner, EveryBlockComesBackAfterRandomTraffic) {
  std::mt19937 rng(1234);
  StepPlanner p(config(24, 4, 16, 8));
  std::uint64_t next_id = 1;
  BlockTables shard;  // what a rank rebuilds from the deltas
  runtime::ForwardBatch batch;
  for (int round = 0; round < 2000; ++round) {
    const int action = static_cast<int>(rng() % 10);
    if (action < 3) {
      p.submit(seq(next_id++, 1 + static_cast<std::int64_t>(rng() % 20),
                   1 + static_cast<std::int64_t>(rng() % 30)));
    } else if (action < 4 && p.running() + p.waiting() > 0) {
      const auto ids = p.ids();
      p.remove(ids[rng() % ids.size()]);  // cancel, or a stop string
    }
    auto plan = p.plan();
    EXPECT_LE(tokens_in(plan), 16);
    // The deltas continue what a rank holds, and cover every planned position.
    ASSERT_NO_THROW(shard.apply(plan)) << "round " << round;
    ASSERT_NO_THROW(make_batch(plan, shard, 4, batch)) << "round " << round;
    // Blocks held by the plan's sequences never overlap.
    std::vector<std::int32_t> seen;
    for (const auto& s : plan.sequences) {
      const auto& table = shard.table(s.seq_id);
      seen.insert(seen.end(), table.begin(), table.end());
    }
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
    p.on_result(answer(plan, static_cast<std::int32_t>(3 + rng() % 5)));
    EXPECT_LE(p.free_blocks(), 24);
  }
  for (const auto id : p.ids()) p.remove(id);
  EXPECT_EQ(p.free_blocks(), 24);
  EXPECT_GT(p.preemptions(), 0);
}

TEST(StepPlanner, ProgressUnderPressureFinishesEverything) {
  // A pool that fits one long sequence at a time: everyone finishes, by preemption if needed.
  StepPlanner p(config(8, 4, 8));
  for (std::uint64_t i = 1; i <= 6; ++i) p.submit(seq(i, 10, 20));
  int finished = 0;
  for (int step = 0; step < 2000 && finished < 6; ++step) {
    auto plan = p.plan();
    ASSERT_FALSE(plan.sequences.empty()) << "stalled at step " << step;
    finished += static_cast<int>(p.on_result(answer(plan)).finished.size());
  }
  EXPECT_EQ(finished, 6);
  EXPECT_EQ(p.free_blocks(), 8);
}

}  // namespace
}  // namespace tessera::actors
