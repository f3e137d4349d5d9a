// GlooCommunicator with threads as ranks: each collective's result on every rank, and failures
// (a rank that never joins, a rank that leaves) surfacing as Error within the timeout.
#include "runtime/comm/gloo_communicator.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "runtime/core/error.hpp"
#include "tests/runtime/comm/gloo_test_options.hpp"
#include "tests/runtime/comm/thread_ranks.hpp"

namespace tessera::runtime {
namespace {

using testing::run_ranks;
using namespace std::chrono_literals;

class GlooGroupTest : public ::testing::TestWithParam<int> {};

TEST_P(GlooGroupTest, AllReduceSumsEveryRanksValues) {
  const int size = GetParam();
  auto store = make_in_process_store();
  run_ranks(size, [&](int rank) {
    GlooCommunicator comm(store, rank, size, test_options());
    EXPECT_EQ(comm.rank(), rank);
    EXPECT_EQ(comm.size(), size);
    Tensor x = Tensor::host_f32({7, 143});  // 1001 elements: does not split evenly into a ring
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      x.data<float>()[i] = static_cast<float>(rank * 1000 + i);
    }
    comm.all_reduce_sum(x);
    const float rank_sum = static_cast<float>(1000 * size * (size - 1) / 2);
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      ASSERT_EQ(x.data<float>()[i], rank_sum + static_cast<float>(size * i)) << "element " << i;
    }
  });
}

TEST_P(GlooGroupTest, GatherColumnsPutsRankBlocksSideBySideOnRankZero) {
  const int size = GetParam();
  constexpr std::int64_t rows = 3;
  constexpr std::int64_t cols = 5;
  auto value = [](int rank, std::int64_t row, std::int64_t col) {
    return static_cast<float>(rank * 1000 + row * 10 + col);
  };
  auto store = make_in_process_store();
  run_ranks(size, [&](int rank) {
    GlooCommunicator comm(store, rank, size, test_options());
    Tensor local = Tensor::host_f32({rows, cols});
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) local.data<float>()[r * cols + c] = value(rank, r, c);
    }
    Tensor full = Tensor::host_f32({rows, cols * size});
    for (std::int64_t i = 0; i < full.numel(); ++i) full.data<float>()[i] = -1.0f;
    comm.gather_columns(local, full);
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < cols * size; ++c) {
        const float expected = rank == 0 ? value(static_cast<int>(c / cols), r, c % cols) : -1.0f;
        ASSERT_EQ(full.data<float>()[r * cols * size + c], expected)
            << "rank " << rank << " row " << r << " column " << c;
      }
    }
  });
}

TEST_P(GlooGroupTest, BroadcastCopiesTheRootsTensorEverywhere) {
  const int size = GetParam();
  auto store = make_in_process_store();
  run_ranks(size, [&](int rank) {
    GlooCommunicator comm(store, rank, size, test_options());
    for (const int root : {0, 1}) {
      Tensor x = Tensor::host_f32({2, 9});
      for (std::int64_t i = 0; i < x.numel(); ++i) {
        x.data<float>()[i] = static_cast<float>(rank * 100 + i);
      }
      comm.broadcast(x, root);
      for (std::int64_t i = 0; i < x.numel(); ++i) {
        ASSERT_EQ(x.data<float>()[i], static_cast<float>(root * 100 + i))
            << "rank " << rank << " root " << root;
      }
    }
  });
}

TEST_P(GlooGroupTest, BarrierHoldsEveryRankUntilAllArrive) {
  const int size = GetParam();
  auto store = make_in_process_store();
  std::atomic<int> arrived{0};
  run_ranks(size, [&](int rank) {
    GlooCommunicator comm(store, rank, size, test_options());
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * rank));  // arrive staggered
    arrived.fetch_add(1);
    comm.barrier();
    EXPECT_EQ(arrived.load(), size) << "rank " << rank << " left the barrier early";
  });
}

TEST_P(GlooGroupTest, ManyCollectivesInARowStayMatched) {
  // Consecutive collectives of different kinds and sizes, as a forward step issues them.
  const int size = GetParam();
  auto store = make_in_process_store();
  run_ranks(size, [&](int rank) {
    GlooCommunicator comm(store, rank, size, test_options());
    for (int step = 0; step < 50; ++step) {
      Tensor x = Tensor::host_f32({1, 1 + step});
      for (std::int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(rank);
      comm.all_reduce_sum(x);
      ASSERT_EQ(x.data<float>()[0], static_cast<float>(size * (size - 1) / 2));
      Tensor token = Tensor::host_f32({1});
      token.data<float>()[0] = static_cast<float>(rank == 0 ? step : -1);
      comm.broadcast(token, 0);
      ASSERT_EQ(token.data<float>()[0], static_cast<float>(step));
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Ranks, GlooGroupTest, ::testing::Values(2, 4),
                         [](const auto& test_param) {
                           return std::to_string(test_param.param) + "_ranks";
                         });

TEST(GlooCommunicator, AGroupOfOneIsTheIdentity) {
  GlooCommunicator comm(make_in_process_store(), 0, 1, test_options());
  Tensor x = Tensor::host_f32({2, 2});
  x.data<float>()[3] = 4.0f;
  comm.all_reduce_sum(x);
  comm.broadcast(x, 0);
  comm.barrier();
  Tensor full = Tensor::host_f32({2, 2});
  comm.gather_columns(x, full);
  EXPECT_EQ(full.data<float>()[3], 4.0f);
}

TEST(GlooCommunicator, AMissingRankFailsTheRendezvousWithinTheTimeout) {
  const auto start = std::chrono::steady_clock::now();
  try {
    GlooCommunicator comm(make_in_process_store(), 0, 2, test_options(300ms));
    FAIL() << "joined a group whose second rank never came";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::io);
    EXPECT_NE(std::string(e.what()).find("1 of 2 ranks did not join"), std::string::npos)
        << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(GlooCommunicator, ARankThatLeavesFailsItsPeersCollectiveInsteadOfHanging) {
  auto store = make_in_process_store();
  const auto start = std::chrono::steady_clock::now();
  std::string rank0_error;
  run_ranks(2, [&](int rank) {
    GlooCommunicator comm(store, rank, 2, test_options(500ms));
    comm.barrier();
    if (rank == 1) return;  // leaves: its communicator closes its connections
    Tensor x = Tensor::host_f32({4});
    try {
      comm.all_reduce_sum(x);
    } catch (const Error& e) {
      rank0_error = e.what();
    }
  });
  EXPECT_NE(rank0_error.find("all_reduce_sum failed on rank 0"), std::string::npos)
      << "rank 0 saw: '" << rank0_error << "'";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(GlooCommunicator, RejectsARankOutsideTheGroupAndABadRoot) {
  EXPECT_THROW(GlooCommunicator(make_in_process_store(), 2, 2), Error);
  EXPECT_THROW(GlooCommunicator(make_in_process_store(), 0, 0), Error);
  GlooCommunicator comm(make_in_process_store(), 0, 1, test_options());
  Tensor x = Tensor::host_f32({1});
  EXPECT_THROW(comm.broadcast(x, 1), Error);
}

}  // namespace
}  // namespace tessera::runtime
