// NcclCommunicator beyond the collectives, with threads as ranks, one GPU each: point-to-point
// transfers and splits into subgroups, the refusals that name the numbers, and a recv whose peer
// never sends aborting at its deadline instead of hanging. Transfers need two GPUs and skip with
// fewer; a group of one (its split, its refusals) runs on one GPU. Skipped without a GPU.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "runtime/backend/cuda_backend.hpp"
#include "runtime/comm/gloo_communicator.hpp"
#include "runtime/comm/nccl_communicator.hpp"
#include "runtime/core/error.hpp"
#include "runtime/parallel/parallel_layout.hpp"
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

TEST(NcclPointToPoint, AGroupOfOneHasNoPeerAndSplitsIntoAnotherGroupOfOne) {
  SKIP_WITHOUT_GPU();
  CudaBackend backend(0);
  NcclCommunicator comm(backend, 0, nullptr, 0, 1, options_with(20s));
  Tensor x = backend.upload(std::vector<float>{1.0f, 2.0f}, {2});
  expect_error_mentions(expect_error([&] { comm.send(x, 0); }), ErrorCategory::invalid_argument,
                        {"rank 0 of an NCCL group of 1", "no peer 0"});
  expect_error_mentions(expect_error([&] { comm.recv(x, 3); }), ErrorCategory::invalid_argument,
                        {"no peer 3"});
  Tensor host = Tensor::host_f32({2});
  expect_error_mentions(expect_error([&] { comm.send(host, 0); }), ErrorCategory::internal,
                        {"send", "CUDA device"});
  expect_error_mentions(expect_error([&] { comm.split(-7); }), ErrorCategory::invalid_argument,
                        {"colour -7"});
  EXPECT_FALSE(comm.aborted());  // argument errors do not cost the communicator

  auto alone = comm.split(5);
  ASSERT_NE(alone, nullptr);
  EXPECT_EQ(alone->rank(), 0);
  EXPECT_EQ(alone->size(), 1);
  alone->all_reduce_sum(x);
  EXPECT_EQ(host_values(backend, x), (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(comm.split(Communicator::no_color), nullptr);
  comm.barrier();  // the parent still works beside its subgroup
}

TEST(NcclPointToPoint, ValuesTravelBothWaysBetweenTwoGpus) {
  SKIP_WITHOUT_GPU();
  SKIP_WITHOUT_GPUS(2);
  auto store = make_in_process_store();
  run_ranks(2, [&](int rank) {
    CudaBackend backend(rank);
    NcclCommunicator comm(backend, rank, store, rank, 2, options_with(20s));
    for (int round = 0; round < 3; ++round) {
      std::vector<float> values(1001);
      for (std::size_t i = 0; i < values.size(); ++i) {
        values[i] = static_cast<float>(round * 10000 + static_cast<int>(i));
      }
      Tensor x = backend.upload(values, {1001});
      Tensor got = backend.allocate({1001});
      if (rank == 0) {  // ordered so that neither waits on a send the other has not received
        comm.send(x, 1);
        comm.recv(got, 1);
      } else {
        comm.recv(got, 0);
        comm.send(got, 0);
      }
      if (rank == 0) {
        EXPECT_EQ(host_values(backend, got), values) << "round " << round;
      }
    }
    EXPECT_FALSE(comm.aborted());
  });
}

TEST(NcclPointToPoint, LayoutColoursSplitTheWorldIntoItsGroups) {
  SKIP_WITHOUT_GPU();
  SKIP_WITHOUT_GPUS(2);
  // tp 1, pp 2: two stages of one rank; the pipeline group holds both, each tp group one.
  const ParallelLayout layout(1, 2, 1);
  auto store = make_in_process_store();
  run_ranks(layout.world_size(), [&](int rank) {
    CudaBackend backend(rank);
    NcclCommunicator world(backend, rank, store, rank, layout.world_size(), options_with(20s));
    auto tp = world.split(layout.tp_group_color(rank));
    auto pipeline = world.split(layout.pipeline_color(rank));
    ASSERT_NE(tp, nullptr);
    ASSERT_NE(pipeline, nullptr);
    EXPECT_EQ(tp->size(), 1);
    EXPECT_EQ(pipeline->size(), 2);
    EXPECT_EQ(pipeline->rank(), layout.coordinates(rank).pp_stage);
    Tensor x = backend.upload(std::vector<float>{static_cast<float>(rank + 1)}, {1});
    pipeline->all_reduce_sum(x);
    EXPECT_EQ(host_values(backend, x), (std::vector<float>{3.0f}));
    if (layout.is_first_stage(rank)) {
      pipeline->send(x, 1);
    } else {
      Tensor got = backend.allocate({1});
      pipeline->recv(got, 0);
      EXPECT_EQ(host_values(backend, got), (std::vector<float>{3.0f}));
    }
  });
}

TEST(NcclPointToPoint, ARecvWhosePeerNeverSendsIsAbortedAtTheDeadline) {
  SKIP_WITHOUT_GPU();
  SKIP_WITHOUT_GPUS(2);
  run_guarded("NcclGuarded.DISABLED_RecvWhosePeerNeverSendsIsAbortedAtTheDeadline", 120);
}

TEST(NcclGuarded, DISABLED_RecvWhosePeerNeverSendsIsAbortedAtTheDeadline) {
  auto store = make_in_process_store();
  std::atomic<bool> done{false};
  std::string error;
  bool aborted = false;
  const auto start = Clock::now();
  run_ranks(2, [&](int rank) {
    CudaBackend backend(rank);
    NcclCommunicator comm(backend, rank, store, rank, 2, options_with(2s));
    if (rank == 0) {  // stays in the group but never sends
      while (!done.load()) std::this_thread::sleep_for(5ms);
      return;
    }
    Tensor x = backend.allocate({8});
    try {
      comm.recv(x, 0);
    } catch (const Error& e) {
      error = e.what();
    }
    aborted = comm.aborted();
    done = true;
  });
  std::cout << "[nccl] " << error << "\n";
  for (const char* needle : {"recv of 32 bytes from rank 0", "rank 1 of an NCCL group of 2",
                             "2000 ms", "aborted"}) {
    EXPECT_NE(error.find(needle), std::string::npos) << "'" << needle << "' not in: " << error;
  }
  EXPECT_TRUE(aborted);
  EXPECT_LT(Clock::now() - start, 30s);
}

}  // namespace
}  // namespace tessera::runtime
