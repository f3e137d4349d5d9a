// A cluster over mutual TLS, as separate `tessera` processes on loopback: with every node's
// certificate signed by the cluster's CA it gives the golden greedy tokens; a worker without TLS,
// or with a certificate of another CA, cannot join and the head stays up (and still forms with a
// worker that belongs); half-configured TLS stops a node before it starts, naming the flag.
// Certificates are made at test time with the openssl command line.
#include <gtest/gtest.h>

#include "tests/cluster/child_process.hpp"
#include "tests/cluster/cluster_launch.hpp"
#include "tests/cluster/test_certificates.hpp"

namespace tessera::testing {
namespace {

using namespace std::chrono_literals;
using launch::Environment;

class ClusterTls : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!TestCertificates::openssl_available()) {
      GTEST_SKIP() << "the openssl command line is not installed (scripts/setup installs it)";
    }
    ASSERT_TRUE(certs.make_ca("ca") && certs.make_node("head", "ca") &&
                certs.make_node("worker", "ca") && certs.make_ca("other_ca") &&
                certs.make_node("stranger", "other_ca"));
  }
  Environment tls(const std::string& node, const std::string& ca = "ca") const {
    return {{"TESSERA_MN_TLS_CERT", certs.pem(node)},
            {"TESSERA_MN_TLS_KEY", certs.key(node)},
            {"TESSERA_MN_TLS_CA", certs.pem(ca)}};
  }
  std::unique_ptr<ChildProcess> head(const launch::GoldenCase& g) const {
    return std::make_unique<ChildProcess>(
        "head", launch::generate_arguments(g, 1),
        launch::with(launch::head_environment(port, 1, 2), tls("head")));
  }
  std::unique_ptr<ChildProcess> worker(const launch::GoldenCase& g, const Environment& extra,
                                       const std::string& name = "worker") const {
    return std::make_unique<ChildProcess>(
        name, launch::worker_arguments(g.model, 1),
        launch::with(launch::worker_environment(0, "127.0.0.1:" + std::to_string(port)), extra));
  }
  // The head, still waiting, is joined by a worker that belongs and prints the golden tokens.
  void expect_head_completes(ChildProcess& head_process, const launch::GoldenCase& g) const {
    auto good = worker(g, tls("worker"), "good-worker");
    ASSERT_EQ(head_process.wait_for(90s), std::optional<int>(0))
        << head_process.report() << good->report();
    EXPECT_EQ(launch::printed_tokens(head_process.out()), g.expected) << head_process.out();
    EXPECT_EQ(good->wait_for(20s), std::optional<int>(0)) << good->report();
  }

  TestCertificates certs;
  int port = free_port();
};

TEST_F(ClusterTls, MutualTlsClusterMatchesTheGolden) {
  const auto g = launch::golden_case("llama3_rope");
  auto h = head(g);
  auto w = worker(g, tls("worker"));
  ASSERT_EQ(h->wait_for(90s), std::optional<int>(0)) << h->report() << w->report();
  EXPECT_NE(h->err().find("cluster ready"), std::string::npos) << h->report();
  EXPECT_EQ(launch::printed_tokens(h->out()), g.expected) << h->out();
  EXPECT_EQ(w->wait_for(20s), std::optional<int>(0)) << w->report();
}

// A plain worker's handshake never completes: it gives up at its own join timeout, naming the
// head it could not reach, and the head keeps waiting for a worker that speaks TLS.
TEST_F(ClusterTls, AWorkerWithoutTlsCannotJoinAndTheHeadStaysUp) {
  const auto g = launch::golden_case("qwen2_bias");
  auto h = head(g);
  auto plain = worker(g, {{"TESSERA_MN_JOIN_TIMEOUT", "4"}}, "plain-worker");
  const auto code = plain->wait_for(30s);
  ASSERT_TRUE(code.has_value()) << plain->report();
  EXPECT_NE(*code, 0) << plain->report();
  EXPECT_NE(plain->err().find("could not reach the head at 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << plain->report();
  EXPECT_EQ(h->err().find("admitted"), std::string::npos) << h->report();
  ASSERT_TRUE(h->running()) << h->report();
  expect_head_completes(*h, g);
}

TEST_F(ClusterTls, AWorkerWithACertificateOfAnotherCaCannotJoin) {
  const auto g = launch::golden_case("qwen2_bias");
  auto h = head(g);
  auto stranger = worker(g, launch::with(tls("stranger", "other_ca"), {{"TESSERA_MN_JOIN_TIMEOUT", "4"}}),
                         "stranger");
  const auto code = stranger->wait_for(30s);
  ASSERT_TRUE(code.has_value()) << stranger->report();
  EXPECT_NE(*code, 0) << stranger->report();
  EXPECT_NE(stranger->err().find("could not reach the head"), std::string::npos) << stranger->report();
  EXPECT_EQ(h->err().find("admitted"), std::string::npos) << h->report();
  ASSERT_TRUE(h->running()) << h->report();
  expect_head_completes(*h, g);
}

// The worker trusts the right CA but its own certificate is another CA's: every head would refuse
// it, so it stops before connecting, naming the file.
TEST_F(ClusterTls, AWorkerTrustingTheCaButSignedByAnotherStopsAtStart) {
  const auto g = launch::golden_case("qwen2_bias");
  auto w = worker(g, tls("stranger", "ca"));
  ASSERT_EQ(w->wait_for(30s), std::optional<int>(1)) << w->report();
  EXPECT_NE(w->err().find("does not verify against the CA in TESSERA_MN_TLS_CA"), std::string::npos)
      << w->report();
}

TEST_F(ClusterTls, HalfConfiguredTlsStopsTheHeadBeforeItStarts) {
  const auto g = launch::golden_case("qwen2_bias");
  auto arguments = launch::generate_arguments(g, 1);
  arguments.insert(arguments.end(), {"--tls-cert", certs.pem("head"), "--tls-ca", certs.pem("ca")});
  ChildProcess h("head", arguments, launch::head_environment(port, 1, 2));
  ASSERT_EQ(h.wait_for(30s), std::optional<int>(1)) << h.report();
  EXPECT_NE(h.err().find("TLS is half-configured: --tls-cert, --tls-ca set, but not --tls-key"),
            std::string::npos)
      << h.report();
  EXPECT_EQ(h.err().find("head waiting on port"), std::string::npos) << h.report();
}

}  // namespace
}  // namespace tessera::testing
