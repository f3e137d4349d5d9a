// ParallelLayout: every rank's coordinates and every question about ranks, for several shapes
// (tensor parallelism alone, pipeline stages, experts wider and narrower than tp), and the
// refusals that name the numbers.
#include "runtime/parallel/parallel_layout.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <vector>

#include "runtime/core/error.hpp"
#include "tests/support/expect_error.hpp"

namespace tessera::runtime {
namespace {

using test::expect_error;
using test::expect_error_mentions;

TEST(ParallelLayout, DefaultIsOneRankThatDoesEverything) {
  const ParallelLayout one;
  EXPECT_EQ(one, ParallelLayout::tensor_parallel(1));
  EXPECT_EQ(one.world_size(), 1);
  EXPECT_TRUE(one.tensor_parallel_only());
  EXPECT_EQ(one.driver_rank(), 0);
  EXPECT_TRUE(one.is_driver(0));
  EXPECT_TRUE(one.is_first_stage(0));
  EXPECT_TRUE(one.is_last_stage(0));
  EXPECT_EQ(one.coordinates(0), RankCoordinates{});
  EXPECT_EQ(one.layers_of_stage(0, 32), (LayerRange{0, 32}));
}

TEST(ParallelLayout, TensorParallelAloneIsOneStageOneGroup) {
  const auto layout = ParallelLayout::tensor_parallel(4);
  EXPECT_EQ(layout.world_size(), 4);
  EXPECT_EQ(layout.stage_size(), 4);
  EXPECT_EQ(layout.driver_rank(), 0);
  for (int rank = 0; rank < 4; ++rank) {
    const auto c = layout.coordinates(rank);
    EXPECT_EQ(c.global_rank, rank);
    EXPECT_EQ(c.pp_stage, 0);
    EXPECT_EQ(c.tp_rank, rank);
    EXPECT_EQ(c.tp_group, 0);
    EXPECT_EQ(c.ep_rank, 0);  // ep 1: every rank is its own expert group
    EXPECT_EQ(c.ep_group, rank);
    EXPECT_TRUE(layout.is_first_stage(rank));
    EXPECT_TRUE(layout.is_last_stage(rank));
    EXPECT_EQ(layout.is_driver(rank), rank == 0);
    EXPECT_EQ(layout.tp_group_color(rank), 0);
    EXPECT_EQ(layout.tp_group_ranks(rank), (std::vector<int>{0, 1, 2, 3}));
  }
}

TEST(ParallelLayout, PipelineStagesAreConsecutiveRankBlocksAndTheLastOneDrives) {
  const ParallelLayout layout(2, 3, 1);  // stages: ranks 0-1, 2-3, 4-5
  EXPECT_EQ(layout.world_size(), 6);
  EXPECT_FALSE(layout.tensor_parallel_only());
  EXPECT_EQ(layout.driver_rank(), 4);  // first tp rank of the last stage
  const std::array<int, 6> stage{0, 0, 1, 1, 2, 2};
  for (int rank = 0; rank < 6; ++rank) {
    const auto c = layout.coordinates(rank);
    EXPECT_EQ(c.pp_stage, stage[static_cast<std::size_t>(rank)]) << "rank " << rank;
    EXPECT_EQ(c.tp_rank, rank % 2);
    EXPECT_EQ(layout.global_rank(c.pp_stage, c.stage_index), rank);
    EXPECT_EQ(layout.is_first_stage(rank), c.pp_stage == 0);
    EXPECT_EQ(layout.is_last_stage(rank), c.pp_stage == 2);
    EXPECT_EQ(layout.is_driver(rank), rank == 4);
    EXPECT_EQ(layout.tp_group_color(rank), c.pp_stage);  // one tp group per stage
    EXPECT_EQ(layout.stage_color(rank), c.pp_stage);
    EXPECT_EQ(layout.pipeline_color(rank), rank % 2);
  }
  EXPECT_EQ(layout.tp_group_ranks(3), (std::vector<int>{2, 3}));
  EXPECT_EQ(layout.next_stage_peer(1), 3);
  EXPECT_EQ(layout.next_stage_peer(3), 5);
  EXPECT_EQ(layout.previous_stage_peer(4), 2);
  expect_error_mentions(expect_error([&] { layout.next_stage_peer(5); }),
                        ErrorCategory::invalid_argument, {"global rank 5", "last of 3"});
  expect_error_mentions(expect_error([&] { layout.previous_stage_peer(0); }),
                        ErrorCategory::invalid_argument, {"global rank 0", "first"});
}

TEST(ParallelLayout, ExpertsWiderThanTpMakeSeveralTpGroupsPerStage) {
  // tp 1, ep 2: two ranks that share the experts, each its own tp group (DESIGN.md).
  const ParallelLayout experts(1, 1, 2);
  EXPECT_EQ(experts.world_size(), 2);
  EXPECT_EQ(experts.driver_rank(), 0);
  for (int rank = 0; rank < 2; ++rank) {
    const auto c = experts.coordinates(rank);
    EXPECT_EQ(c.tp_rank, 0);
    EXPECT_EQ(c.tp_group, rank);
    EXPECT_EQ(c.ep_rank, rank);
    EXPECT_EQ(c.ep_group, 0);
    EXPECT_EQ(experts.tp_group_color(rank), rank);
    EXPECT_EQ(experts.ep_group_color(rank), 0);
    EXPECT_EQ(experts.tp_group_ranks(rank), (std::vector<int>{rank}));
  }

  // tp 2, pp 2, ep 4: stages of 4 ranks, two tp groups each, one ep group each.
  const ParallelLayout mixed(2, 2, 4);
  EXPECT_EQ(mixed.world_size(), 8);
  EXPECT_EQ(mixed.driver_rank(), 4);
  const auto c = mixed.coordinates(7);
  EXPECT_EQ(c.pp_stage, 1);
  EXPECT_EQ(c.stage_index, 3);
  EXPECT_EQ(c.tp_rank, 1);
  EXPECT_EQ(c.tp_group, 1);
  EXPECT_EQ(c.ep_rank, 3);
  std::set<int> tp_colors;
  std::set<int> ep_colors;
  for (int rank = 0; rank < 8; ++rank) {
    tp_colors.insert(mixed.tp_group_color(rank));
    ep_colors.insert(mixed.ep_group_color(rank));
  }
  EXPECT_EQ(tp_colors, (std::set<int>{0, 1, 2, 3}));  // 2 stages × 2 tp groups
  EXPECT_EQ(ep_colors, (std::set<int>{0, 1}));        // 2 stages × 1 ep group
  EXPECT_EQ(mixed.tp_group_ranks(6), (std::vector<int>{6, 7}));
}

TEST(ParallelLayout, ExpertsNarrowerThanTpSplitAStageIntoExpertGroups) {
  const ParallelLayout layout(4, 1, 2);  // one stage of 4; ep groups {0,1} and {2,3}
  EXPECT_EQ(layout.world_size(), 4);
  EXPECT_EQ(layout.coordinates(3).ep_rank, 1);
  EXPECT_EQ(layout.ep_group_color(1), 0);
  EXPECT_EQ(layout.ep_group_color(2), 1);
  EXPECT_EQ(layout.tp_group_color(3), 0);
}

TEST(ParallelLayout, LayersSplitEvenlyWithTheRemainderOnTheFirstStages) {
  const ParallelLayout four_stages(1, 4, 1);
  EXPECT_EQ(four_stages.layers_of_stage(0, 32), (LayerRange{0, 8}));
  EXPECT_EQ(four_stages.layers_of_stage(3, 32), (LayerRange{24, 32}));
  // 30 layers over 4 stages: 8, 8, 7, 7.
  const std::array<LayerRange, 4> expected{{{0, 8}, {8, 16}, {16, 23}, {23, 30}}};
  std::int64_t covered = 0;
  for (int stage = 0; stage < 4; ++stage) {
    const auto range = four_stages.layers_of_stage(stage, 30);
    EXPECT_EQ(range, expected[static_cast<std::size_t>(stage)]) << "stage " << stage;
    EXPECT_EQ(range.begin, covered);
    covered = range.end;
  }
  EXPECT_EQ(covered, 30);
  const ParallelLayout two_stages(2, 2, 1);
  EXPECT_EQ(two_stages.layers_of_stage(1, 3), (LayerRange{2, 3}));
}

TEST(ParallelLayout, LayersFollowAnExplicitSplit) {
  const ParallelLayout layout(1, 3, 1);
  const std::vector<std::int64_t> split{4, 10, 2};
  EXPECT_EQ(layout.layers_of_stage(0, 16, split), (LayerRange{0, 4}));
  EXPECT_EQ(layout.layers_of_stage(1, 16, split), (LayerRange{4, 14}));
  EXPECT_EQ(layout.layers_of_stage(2, 16, split), (LayerRange{14, 16}));

  const std::vector<std::int64_t> short_split{4, 12};
  expect_error_mentions(expect_error([&] { layout.layers_of_stage(0, 16, short_split); }),
                        ErrorCategory::invalid_argument, {"2 layer counts", "3 pipeline stages"});
  const std::vector<std::int64_t> wrong_sum{4, 10, 3};
  expect_error_mentions(expect_error([&] { layout.layers_of_stage(0, 16, wrong_sum); }),
                        ErrorCategory::invalid_argument, {"sum to 17", "16 layers"});
  const std::vector<std::int64_t> empty_stage{8, 0, 8};
  expect_error_mentions(expect_error([&] { layout.layers_of_stage(0, 16, empty_stage); }),
                        ErrorCategory::invalid_argument, {"stage 1", "0 layers"});
}

TEST(ParallelLayout, RefusesStagesWithoutLayersAndStagesOutside) {
  const ParallelLayout layout(1, 4, 1);
  expect_error_mentions(expect_error([&] { layout.layers_of_stage(0, 3); }),
                        ErrorCategory::invalid_argument, {"3 layers", "4 pipeline stages"});
  expect_error_mentions(expect_error([&] { layout.layers_of_stage(4, 32); }),
                        ErrorCategory::invalid_argument, {"pipeline stage 4", "stages 0-3"});
}

TEST(ParallelLayout, RefusesShapesThatAreNotLayoutsNamingTheNumbers) {
  expect_error_mentions(expect_error([] { ParallelLayout(0, 1, 1); }),
                        ErrorCategory::invalid_argument, {"tp 0", "at least 1"});
  expect_error_mentions(expect_error([] { ParallelLayout(2, 0, 1); }),
                        ErrorCategory::invalid_argument, {"pp 0"});
  expect_error_mentions(expect_error([] { ParallelLayout(4, 1, 3); }),
                        ErrorCategory::invalid_argument, {"tp 4", "ep 3", "max(tp, ep) = 4"});
  expect_error_mentions(expect_error([] { ParallelLayout(2, 1, 3); }),
                        ErrorCategory::invalid_argument, {"tp 2", "ep 3", "= 3 ranks"});
  expect_error_mentions(expect_error([] { ParallelLayout(1 << 16, 1 << 16, 1); }),
                        ErrorCategory::invalid_argument, {"int"});
}

TEST(ParallelLayout, RefusesRanksOutsideNamingTheLayout) {
  const ParallelLayout layout(2, 2, 1);
  expect_error_mentions(expect_error([&] { layout.coordinates(4); }),
                        ErrorCategory::invalid_argument,
                        {"global rank 4", "tp 2, pp 2, ep 1 (4 ranks)", "ranks 0-3"});
  expect_error_mentions(expect_error([&] { layout.coordinates(-1); }),
                        ErrorCategory::invalid_argument, {"global rank -1"});
  expect_error_mentions(expect_error([&] { layout.global_rank(2, 0); }),
                        ErrorCategory::invalid_argument, {"stage 2", "2 stages of 2 ranks"});
  EXPECT_THROW(layout.is_driver(7), Error);
}

TEST(ParallelLayout, LocalDeviceCountsFromTheNodesFirstRank) {
  const auto layout = ParallelLayout::tensor_parallel(8);
  // The head holds ranks 0-3, a worker ranks 4-7: both use devices 0-3.
  for (int rank = 0; rank < 4; ++rank) EXPECT_EQ(layout.local_device(rank, 0), rank);
  for (int rank = 4; rank < 8; ++rank) EXPECT_EQ(layout.local_device(rank, 4), rank - 4);
  expect_error_mentions(expect_error([&] { layout.local_device(3, 4); }),
                        ErrorCategory::invalid_argument, {"global rank 3", "first rank is 4"});
  expect_error_mentions(expect_error([&] { layout.local_device(8, 4); }),
                        ErrorCategory::invalid_argument, {"global rank 8"});
}

}  // namespace
}  // namespace tessera::runtime
