// A head and a worker in network namespaces of their own, joined by a veth pair (10.77.0.1/24
// and 10.77.0.2/24): nothing but that link connects them, so every rank's Gloo endpoints must be
// bound to and advertised on the node's own address (loopback would reach nothing). The head's
// greedy tokens must match the golden. Skipped with the reason where the test cannot make
// namespaces (not root, no iproute2); the namespaces are deleted whatever happens.
#include <gtest/gtest.h>

#include "tests/cluster/child_process.hpp"
#include "tests/cluster/cluster_launch.hpp"
#include "tests/cluster/network_namespaces.hpp"

namespace tessera::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kPort = 29100;  // a fresh namespace has every port free

struct Nodes {
  int head_ranks = 1;
  int worker_ranks = 1;
  launch::Environment head_extra;
};

void expect_golden_across_namespaces(const std::string& fixture, const Nodes& nodes) {
  NamespacePair net;
  if (!net.ok()) GTEST_SKIP() << "cannot make network namespaces here: " << net.error();
  const auto g = launch::golden_case(fixture);
  ChildProcess head(
      "head", launch::generate_arguments(g, nodes.head_ranks),
      launch::with(launch::head_environment(kPort, 1, nodes.head_ranks + nodes.worker_ranks),
                   nodes.head_extra),
      in_namespace(net.name(0)));
  ChildProcess worker("worker", launch::worker_arguments(g.model, nodes.worker_ranks),
                      launch::worker_environment(0, net.address(0) + ":" + std::to_string(kPort)),
                      in_namespace(net.name(1)));
  ASSERT_EQ(head.wait_for(120s), std::optional<int>(0)) << head.report() << worker.report();
  EXPECT_EQ(launch::printed_tokens(head.out()), g.expected) << head.out();
  EXPECT_EQ(worker.wait_for(20s), std::optional<int>(0)) << worker.report();
  EXPECT_NE(worker.err().find("worker 0's Gloo endpoints on " + net.address(1)), std::string::npos)
      << worker.report();
  EXPECT_NE(head.err().find("the head's Gloo endpoints on " + net.address(0)), std::string::npos)
      << head.report();
}

TEST(ClusterNetns, HeadAndWorkerInTheirOwnNamespacesMatchTheGolden) {
  expect_golden_across_namespaces("llama3_rope", {});
}

TEST(ClusterNetns, TwoRanksPerNodeWithTheHeadsAddressGivenMatchTheGolden) {
  expect_golden_across_namespaces("qwen2_bias",
                                  {2, 2, {{"TESSERA_MN_BIND_ADDR", "10.77.0.1"}}});
}

}  // namespace
}  // namespace tessera::testing
