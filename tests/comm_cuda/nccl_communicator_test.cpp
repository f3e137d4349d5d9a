// NcclCommunicator with threads as ranks, one GPU each: every collective's result on every rank
// for each group size this machine has GPUs for (a group of one on one GPU), the errors that name
// a wrong argument, and deadlines: a rank whose peers never come fails with an Error naming the
// operation, its rank and the timeout instead of hanging. Skipped without a GPU.
#include "runtime/comm/nccl_communicator.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "runtime/backend/cuda_backend.hpp"
#include "runtime/comm/gloo_communicator.hpp"
#include "runtime/core/error.hpp"
#include "tests/backend_cuda/cuda_test_support.hpp"
#include "tests/comm_cuda/nccl_test_support.hpp"
#include "tests/comm_cuda/run_guarded.hpp"
#include "tests/runtime/comm/thread_ranks.hpp"
#include "tests/support/expect_error.hpp"

namespace tessera::runtime {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::expect_error;
using test::expect_error_mentions;
using testing::host_values;
using testing::run_guarded;
using testing::run_ranks;

// Group sizes to try; those above the GPU count skip.
class NcclGroupTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_GPU();
    SKIP_WITHOUT_GPUS(GetParam());
  }
};

TEST_P(NcclGroupTest, AllReduceSumsEveryRanksValues) {
  const int size = GetParam();
  auto store = make_in_process_store();
  run_ranks(size, [&](int rank) {
    CudaBackend backend(rank);
    NcclCommunicator comm(backend, rank, store, rank, size, options_with(20s));
    EXPECT_EQ(comm.rank(), rank);
    EXPECT_EQ(comm.size(), size);
    std::vector<float> values(7 * 143);  // 1001 elements: does not split evenly over a ring
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(rank * 1000 + i);
    Tensor x = backend.upload(values, {7, 143});
    comm.all_reduce_sum(x);
    const auto got = host_values(backend, x);
    const float rank_sum = static_cast<float>(1000 * size * (size - 1) / 2);
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], rank_sum + static_cast<float>(size * static_cast<int>(i)))
          << "element " << i;
    }
    EXPECT_FALSE(comm.aborted());
  });
}

TEST_P(NcclGroupTest, GatherColumnsPutsRankBlocksSideBySideOnRankZero) {
  const int size = GetParam();
  constexpr std::int64_t rows = 3;
  constexpr std::int64_t cols = 5;
  auto value = [](int rank, std::int64_t row, std::int64_t col) {
    return static_cast<float>(rank * 1000 + row * 10 + col);
  };
  auto store = make_in_process_store();
  run_ranks(size, [&](int rank) {
    CudaBackend backend(rank);
    NcclCommunicator comm(backend, rank, store, rank, size, options_with(20s));
    std::vector<float> block;
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) block.push_back(value(rank, r, c));
    }
    const Tensor local = backend.upload(block, {rows, cols});
    Tensor full = backend.allocate({rows, cols * size});
    comm.gather_columns(local, full);
    if (rank != 0) return;
    const auto got = host_values(backend, full);
    for (int from = 0; from < size; ++from) {
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = 0; c < cols; ++c) {
          ASSERT_EQ(got[static_cast<std::size_t>(r * cols * size + from * cols + c)],
                    value(from, r, c))
              << "rank " << from << " row " << r << " col " << c;
        }
      }
    }
  });
}

TEST_P(NcclGroupTest, BroadcastCopiesTheRootsValuesAndBarrierReturns) {
  const int size = GetParam();
  const int root = size - 1;
  auto store = make_in_process_store();
  run_ranks(size, [&](int rank) {
    CudaBackend backend(rank);
    NcclCommunicator comm(backend, rank, store, rank, size, options_with(20s));
    std::vector<float> values(100, 0.0f);
    if (rank == root) {
      for (std::size_t i = 0; i < values.size(); ++i) values[i] = 0.5f * static_cast<float>(i);
    }
    Tensor x = backend.upload(values, {100});
    comm.broadcast(x, root);
    const auto got = host_values(backend, x);
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], 0.5f * static_cast<float>(i));
    comm.barrier();
    comm.barrier();
  });
}

INSTANTIATE_TEST_SUITE_P(Sizes, NcclGroupTest, ::testing::Values(1, 2, 4, 8));

TEST(Nccl, WrongArgumentsAreNamed) {
  SKIP_WITHOUT_GPU();
  CudaBackend backend(0);
  auto store = make_in_process_store();
  expect_error_mentions(expect_error([&] { NcclCommunicator(backend, 0, store, 1, 1); }),
                        ErrorCategory::invalid_argument, {"rank 1", "group of 1"});
  expect_error_mentions(expect_error([&] { NcclCommunicator(backend, 0, nullptr, 0, 2); }),
                        ErrorCategory::invalid_argument, {"store", "group of 2"});
  expect_error_mentions(
      expect_error([&] { NcclCommunicator(backend, 0, store, 0, 1, options_with(0ms)); }),
      ErrorCategory::invalid_argument, {"timeout"});
  expect_error_mentions(expect_error([&] { NcclCommunicator(backend, 99, store, 0, 1); }),
                        ErrorCategory::unsupported, {"CUDA device 99"});

  NcclCommunicator comm(backend, 0, nullptr, 0, 1);  // a group of one needs no store
  Tensor host = Tensor::host_f32({2});
  expect_error_mentions(expect_error([&] { comm.all_reduce_sum(host); }), ErrorCategory::internal,
                        {"all_reduce_sum", "CUDA device"});
  Tensor x = backend.allocate({2});
  expect_error_mentions(expect_error([&] { comm.broadcast(x, 1); }),
                        ErrorCategory::invalid_argument, {"root 1"});
  const Tensor local = backend.allocate({2, 3});
  Tensor narrow = backend.allocate({2, 4});
  expect_error_mentions(expect_error([&] { comm.gather_columns(local, narrow); }),
                        ErrorCategory::internal, {"gather_columns"});
  EXPECT_FALSE(comm.aborted());  // argument errors do not cost the communicator
  comm.all_reduce_sum(x);
}

TEST(Nccl, RankWhosePeersNeverPublishTheIdGivesUpInTime) {
  SKIP_WITHOUT_GPU();
  CudaBackend backend(0);
  auto store = make_in_process_store();  // rank 0 never comes
  const auto start = Clock::now();
  const auto e =
      expect_error([&] { NcclCommunicator(backend, 0, store, 1, 2, options_with(300ms)); });
  expect_error_mentions(e, ErrorCategory::io, {"rank 1", "300 ms", "unique id"});
  EXPECT_LT(Clock::now() - start, 5s);
}

TEST(Nccl, JoiningWithoutPeersIsAbortedAtTheDeadline) {
  SKIP_WITHOUT_GPU();
  run_guarded("NcclGuarded.DISABLED_JoiningWithoutPeersIsAbortedAtTheDeadline", 120);
}

TEST(NcclGuarded, DISABLED_JoiningWithoutPeersIsAbortedAtTheDeadline) {
  CudaBackend backend(0);
  auto store = make_in_process_store();  // rank 1 never comes
  const auto start = Clock::now();
  const auto e = expect_error([&] { NcclCommunicator(backend, 0, store, 0, 2, options_with(2s)); });
  std::cout << "[nccl] " << e.what() << "\n";
  expect_error_mentions(e, ErrorCategory::io, {"rank 0", "2000 ms", "aborted"});
  EXPECT_LT(Clock::now() - start, 30s);
}

// NCCL refuses two ranks of one group on one GPU, or (in versions that allow it) runs them:
// either way each rank ends with a result or an Error, never a hang.
TEST(Nccl, TwoRanksOnOneGpuJoinOrFailClearly) {
  SKIP_WITHOUT_GPU();
  run_guarded("NcclGuarded.DISABLED_TwoRanksOnOneGpuJoinOrFailClearly", 120);
}

TEST(NcclGuarded, DISABLED_TwoRanksOnOneGpuJoinOrFailClearly) {
  auto store = make_in_process_store();
  std::vector<std::string> outcome(2);
  run_ranks(2, [&](int rank) {
    CudaBackend backend(0);
    try {
      NcclCommunicator comm(backend, 0, store, rank, 2, options_with(5s));
      Tensor x = backend.upload(std::vector<float>{static_cast<float>(rank + 1)}, {1});
      comm.all_reduce_sum(x);
      outcome[static_cast<std::size_t>(rank)] = "sum " + std::to_string(host_values(backend, x)[0]);
    } catch (const Error& e) {
      outcome[static_cast<std::size_t>(rank)] = e.what();
    }
  });
  for (int rank = 0; rank < 2; ++rank) {
    const auto& text = outcome[static_cast<std::size_t>(rank)];
    std::cout << "[nccl] rank " << rank << ": " << text << "\n";
    const bool summed = text == "sum " + std::to_string(3.0f);
    const bool named = text.find("rank " + std::to_string(rank)) != std::string::npos;
    EXPECT_TRUE(summed || named) << text;
  }
}

}  // namespace
}  // namespace tessera::runtime
