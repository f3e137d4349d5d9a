// `tessera serve` as a cluster head, with a `serve` in worker role beside it (one launch
// command for every node, MISTRALRS_* spellings): requests go to the head only, and a worker
// killed mid-stream ends the stream with an error within 2 s while the head keeps answering.
#include <gtest/gtest.h>

#include <regex>

#include "tests/cluster/child_process.hpp"
#include "tests/cluster/http_exchange.hpp"

namespace tessera::testing {
namespace {

using namespace std::chrono_literals;

const std::string kKjvTiny = std::string(TESSERA_SOURCE_DIR) + "/models/kjv-tiny";

int http_port(const ChildProcess& server) {
  std::smatch match;
  const std::string err = server.err();
  if (!std::regex_search(err, match, std::regex("listening on http://[0-9.]+:([0-9]+)"))) return 0;
  return std::stoi(match[1]);
}

TEST(ClusterServe, WorkerKilledMidStreamEndsTheStreamWithAnErrorAndTheHeadStaysUp) {
  const int cluster_port = free_port();
  const std::vector<std::string> serve{"serve", "--model", kKjvTiny, "--device", "cpu", "--port", "0"};
  ChildProcess head("head", serve,
                    {{"MISTRALRS_MN_GLOBAL_WORLD_SIZE", "2"},
                     {"MISTRALRS_MN_HEAD_NUM_WORKERS", "1"},
                     {"MISTRALRS_MN_HEAD_PORT", std::to_string(cluster_port)},
                     {"TESSERA_CLUSTER_SECRET", "serve-secret"}});
  ChildProcess worker("worker", serve,
                      {{"MISTRALRS_MN_WORKER_ID", "0"},
                       {"MISTRALRS_MN_WORKER_SERVER_ADDR", "127.0.0.1:" + std::to_string(cluster_port)},
                       {"TESSERA_CLUSTER_SECRET", "serve-secret"}});
  ASSERT_TRUE(head.wait_for_stderr("tessera: ready", 60s)) << head.report() << worker.report();
  EXPECT_EQ(worker.err().find("listening"), std::string::npos) << "a worker serves no HTTP\n"
                                                               << worker.report();
  const int port = http_port(head);
  ASSERT_GT(port, 0) << head.report();

  // A whole request first: the cluster works.
  {
    HttpExchange complete(port, "POST", "/v1/completions",
                          R"({"prompt": "In the beginning", "max_tokens": 8, "temperature": 0})");
    ASSERT_TRUE(complete.read_until_text("\"choices\"", 30s)) << complete.text() << head.report();
  }

  HttpExchange stream(port, "POST", "/v1/completions",
                      R"({"prompt": "In the beginning", "max_tokens": 480, "temperature": 0,
                          "ignore_eos": true, "stream": true})");
  ASSERT_TRUE(stream.read_until_text("\"choices\"", 30s)) << stream.text() << head.report();
  const auto killed = std::chrono::steady_clock::now();
  worker.kill(SIGKILL);
  ASSERT_TRUE(stream.read_until_text("\"error\"", 2s))
      << "no error 2 s after the worker died:\n" << stream.text().substr(0, 2000) << head.report();
  EXPECT_LT(std::chrono::steady_clock::now() - killed, 2s);
  // Whichever notices first ends the step: the node link's down message ("worker 0 ... lost") or
  // the head's own rank, whose Gloo collective with the dead worker breaks. Both name the cause.
  EXPECT_TRUE(stream.text().find("worker 0") != std::string::npos ||
              stream.text().find("Gloo") != std::string::npos)
      << stream.text().substr(0, 4000);

  HttpExchange health(port, "GET", "/health");
  EXPECT_TRUE(health.read_until_text("\r\n\r\n", 2s)) << health.text() << head.report();
  EXPECT_TRUE(head.running()) << head.report();
}

}  // namespace
}  // namespace tessera::testing
