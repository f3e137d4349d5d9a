// GlooCommunicator beyond the collectives, with threads as ranks: point-to-point transfers (a
// pipeline's hand-off from stage to stage) and splits into subgroups (one per group of a
// ParallelLayout), a peer that never comes failing within the timeout, and the refusals that
// name the numbers. SingleRankCommunicator answers the same questions for a group of one.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "runtime/comm/gloo_communicator.hpp"
#include "runtime/core/error.hpp"
#include "runtime/parallel/parallel_layout.hpp"
#include "tests/runtime/comm/gloo_test_options.hpp"
#include "tests/runtime/comm/thread_ranks.hpp"
#include "tests/support/expect_error.hpp"

namespace tessera::runtime {
namespace {

using test::expect_error;
using test::expect_error_mentions;
using testing::run_ranks;
using namespace std::chrono_literals;

Tensor filled(std::int64_t n, float first) {
  Tensor x = Tensor::host_f32({n});
  for (std::int64_t i = 0; i < n; ++i) x.data<float>()[i] = first + static_cast<float>(i);
  return x;
}

TEST(GlooPointToPoint, ValuesTravelDownAPipelineAndBack) {
  // Rank r receives from r-1, adds its rank, sends to r+1; the last sends the sum back to rank 0.
  constexpr int size = 4;
  constexpr std::int64_t n = 1001;
  auto store = make_in_process_store();
  run_ranks(size, [&](int rank) {
    GlooCommunicator comm(store, rank, size, test_options());
    for (int round = 0; round < 3; ++round) {  // consecutive transfers stay matched
      Tensor x = filled(n, static_cast<float>(round));
      if (rank > 0) comm.recv(x, rank - 1);
      for (std::int64_t i = 0; i < n; ++i) x.data<float>()[i] += static_cast<float>(rank);
      if (rank < size - 1) {
        comm.send(x, rank + 1);
      } else {
        comm.send(x, 0);
      }
      if (rank != 0) continue;
      comm.recv(x, size - 1);
      for (std::int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(x.data<float>()[i], static_cast<float>(round + i + 0 + 1 + 2 + 3)) << i;
      }
    }
  });
}

TEST(GlooPointToPoint, TransfersInterleaveWithCollectives) {
  auto store = make_in_process_store();
  run_ranks(2, [&](int rank) {
    GlooCommunicator comm(store, rank, 2, test_options());
    for (int step = 0; step < 20; ++step) {
      Tensor x = filled(3, static_cast<float>(rank));
      comm.all_reduce_sum(x);
      ASSERT_EQ(x.data<float>()[0], 1.0f);
      Tensor hand_off = filled(5, static_cast<float>(step * 10));
      if (rank == 0) {
        comm.send(hand_off, 1);
      } else {
        Tensor got = filled(5, -1.0f);
        comm.recv(got, 0);
        ASSERT_EQ(got.data<float>()[4], static_cast<float>(step * 10 + 4));
      }
    }
  });
}

TEST(GlooPointToPoint, ARecvWhosePeerNeverSendsFailsWithinTheTimeout) {
  auto store = make_in_process_store();
  std::atomic<bool> done{false};
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  run_ranks(2, [&](int rank) {
    GlooCommunicator comm(store, rank, 2, test_options(300ms));
    if (rank == 0) {  // stays in the group but never sends
      while (!done.load()) std::this_thread::sleep_for(5ms);
      return;
    }
    Tensor x = Tensor::host_f32({8});
    try {
      comm.recv(x, 0);
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::io);
      error = e.what();
    }
    done = true;
  });
  for (const char* needle : {"recv of 32 bytes from rank 0", "rank 1 of a Gloo group of 2",
                             "300 ms"}) {
    EXPECT_NE(error.find(needle), std::string::npos) << "'" << needle << "' not in: " << error;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(GlooPointToPoint, RefusesPeersOutsideTheGroupAndItself) {
  GlooCommunicator comm(make_in_process_store(), 0, 1, test_options());
  Tensor x = Tensor::host_f32({1});
  expect_error_mentions(expect_error([&] { comm.send(x, 1); }), ErrorCategory::invalid_argument,
                        {"rank 0 of a Gloo group of 1", "no peer 1"});
  expect_error_mentions(expect_error([&] { comm.recv(x, 0); }), ErrorCategory::invalid_argument,
                        {"no peer 0", "itself"});
  expect_error_mentions(expect_error([&] { comm.recv(x, -2); }), ErrorCategory::invalid_argument,
                        {"no peer -2"});
}

// Every rank's sum over its subgroup, for ranks split by `color_of`.
void expect_subgroup_sums(int size, const std::function<int(int)>& color_of) {
  auto store = make_in_process_store();
  run_ranks(size, [&](int rank) {
    GlooCommunicator world(store, rank, size, test_options());
    const int color = color_of(rank);
    auto group = world.split(color);
    if (color == Communicator::no_color) {
      EXPECT_EQ(group, nullptr);
      world.barrier();  // still a member of the world
      return;
    }
    ASSERT_NE(group, nullptr);
    std::vector<int> members;
    for (int r = 0; r < size; ++r) {
      if (color_of(r) == color) members.push_back(r);
    }
    // Ranked in the order of their world ranks.
    ASSERT_EQ(group->size(), static_cast<int>(members.size()));
    EXPECT_EQ(members[static_cast<std::size_t>(group->rank())], rank);
    Tensor x = Tensor::host_f32({1});
    x.data<float>()[0] = static_cast<float>(rank);
    group->all_reduce_sum(x);
    float expected = 0.0f;
    for (const int m : members) expected += static_cast<float>(m);
    EXPECT_EQ(x.data<float>()[0], expected) << "rank " << rank << ", colour " << color;
    // The world still works after (and beside) its subgroups.
    world.barrier();
  });
}

TEST(GlooSplit, RanksOfOneColourFormOneGroup) {
  expect_subgroup_sums(4, [](int rank) { return rank % 2; });  // {0, 2} and {1, 3}
  expect_subgroup_sums(4, [](int) { return 7; });          // everyone
  expect_subgroup_sums(3, [](int rank) { return rank; });       // groups of one
}

TEST(GlooSplit, ARankWithNoColourGetsNoGroup) {
  expect_subgroup_sums(4, [](int rank) { return rank == 2 ? Communicator::no_color : 0; });
}

TEST(GlooSplit, LayoutColoursMakeItsTensorParallelGroupsAndPipelinePeers) {
  const ParallelLayout layout(2, 2, 1);  // stages {0, 1} and {2, 3}
  auto store = make_in_process_store();
  run_ranks(layout.world_size(), [&](int rank) {
    GlooCommunicator world(store, rank, layout.world_size(), test_options());
    const auto coordinates = layout.coordinates(rank);
    auto tp = world.split(layout.tp_group_color(rank));
    auto pipeline = world.split(layout.pipeline_color(rank));
    EXPECT_EQ(tp->rank(), coordinates.tp_rank);
    EXPECT_EQ(tp->size(), layout.tp());
    EXPECT_EQ(pipeline->rank(), coordinates.pp_stage);
    EXPECT_EQ(pipeline->size(), layout.pp());
    // A stage's all-reduce, then its hand-off to the next stage over the pipeline group.
    Tensor x = Tensor::host_f32({2});
    x.data<float>()[0] = static_cast<float>(rank);
    x.data<float>()[1] = 1.0f;
    tp->all_reduce_sum(x);
    if (layout.is_first_stage(rank)) {
      pipeline->send(x, coordinates.pp_stage + 1);
      return;
    }
    Tensor from_previous = Tensor::host_f32({2});
    pipeline->recv(from_previous, coordinates.pp_stage - 1);
    EXPECT_EQ(from_previous.data<float>()[0], 0.0f + 1.0f);  // stage 0's sum of ranks 0 and 1
    EXPECT_EQ(from_previous.data<float>()[1], 2.0f);
  });
}

TEST(GlooSplit, RefusesAColourBelowNoColour) {
  GlooCommunicator comm(make_in_process_store(), 0, 1, test_options());
  expect_error_mentions(expect_error([&] { comm.split(-5); }), ErrorCategory::invalid_argument,
                        {"colour -5"});
}

TEST(SingleRankCommunicator, HasNoPeerAndSplitsIntoAnotherGroupOfOne) {
  SingleRankCommunicator one;
  Tensor x = Tensor::host_f32({1});
  expect_error_mentions(expect_error([&] { one.send(x, 0); }), ErrorCategory::invalid_argument,
                        {"no peer 0"});
  expect_error_mentions(expect_error([&] { one.recv(x, 1); }), ErrorCategory::invalid_argument,
                        {"no peer 1"});
  auto group = one.split(3);
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->size(), 1);
  EXPECT_EQ(one.split(Communicator::no_color), nullptr);
}

}  // namespace
}  // namespace tessera::runtime
