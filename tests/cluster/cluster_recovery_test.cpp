// A `tessera serve` head loses its worker and gets it back without a restart: the request in
// flight fails at once (SIGKILL) or within the heartbeat timeout (SIGSTOP), /health turns 503
// naming the missing worker, a request sent meanwhile waits (bounded) for the worker, and once a
// worker with the same id joins again the cluster re-forms and answers with HF transformers'
// greedy text (tests/data/e2e/kjv_tiny.json). Every wait has a deadline; children die with the
// test.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "tests/cluster/child_process.hpp"
#include "tests/cluster/http_exchange.hpp"
#include "tests/support/fixture_models.hpp"

namespace tessera::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Environment = std::map<std::string, std::string>;

const std::string kKjvTiny = std::string(TESSERA_SOURCE_DIR) + "/models/kjv-tiny";
const std::string kSecret = "recovery-secret";

struct HttpReply {
  int status = 0;  // 0: no complete answer in time
  std::string body;
};

// Reads `exchange` until the server closes it (every request says Connection: close).
HttpReply read_reply(HttpExchange& exchange, std::chrono::milliseconds timeout) {
  exchange.read_until([](const std::string&) { return false; }, timeout);
  const std::string& text = exchange.text();
  std::smatch match;
  HttpReply reply;
  if (!std::regex_search(text, match, std::regex("^HTTP/1\\.1 ([0-9]{3})"))) return reply;
  const auto body = text.find("\r\n\r\n");
  if (body == std::string::npos) return reply;
  reply.status = std::stoi(match[1]);
  reply.body = text.substr(body + 4);
  return reply;
}

HttpReply get(int port, const std::string& path) {
  HttpExchange exchange(port, "GET", path);
  return read_reply(exchange, 2s);
}

// Polls /health until it answers `status`; the last reply either way.
HttpReply await_health(int port, int status, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  HttpReply reply = get(port, "/health");
  while (reply.status != status && Clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    reply = get(port, "/health");
  }
  return reply;
}

struct Golden {
  std::string prompt;
  int max_tokens = 0;
  std::string text;
};

Golden golden() {
  const auto fixture =
      read_json_file(std::filesystem::path(TESSERA_TEST_DATA_DIR) / "e2e/kjv_tiny.json");
  const auto& c = fixture.at("cases").at(0);
  return {c.at("prompt").get<std::string>(), fixture.at("max_new_tokens").get<int>(),
          c.at("generated_text").get<std::string>()};
}

std::string golden_request_body() {
  const auto g = golden();
  return nlohmann::json{{"prompt", g.prompt}, {"max_tokens", g.max_tokens}, {"temperature", 0}}.dump();
}

// The completion text of a 200 reply, or why there is none.
std::string completion_text(const HttpReply& reply) {
  if (reply.status != 200) return "HTTP " + std::to_string(reply.status) + ": " + reply.body;
  return nlohmann::json::parse(reply.body).at("choices").at(0).at("text").get<std::string>();
}

class ClusterRecovery : public ::testing::Test {
 protected:
  // `recovery_seconds`: how long a request waits for the worker to come back.
  void start(const std::string& recovery_seconds) {
    head_ = std::make_unique<ChildProcess>(
        "head",
        std::vector<std::string>{"serve", "--model", kKjvTiny, "--device", "cpu", "--port", "0",
                                 "--mn-recovery-timeout", recovery_seconds},
        Environment{{"TESSERA_MN_GLOBAL_WORLD_SIZE", "2"},
                    {"TESSERA_MN_HEAD_NUM_WORKERS", "1"},
                    {"TESSERA_MN_HEAD_PORT", std::to_string(cluster_port_)},
                    {"TESSERA_CLUSTER_SECRET", kSecret},
                    {"TESSERA_MN_JOIN_TIMEOUT", "60"}});
    start_worker();
    ASSERT_TRUE(head_->wait_for_stderr("tessera: ready", 60s)) << everything();
    std::smatch match;
    const std::string err = head_->err();
    ASSERT_TRUE(std::regex_search(err, match, std::regex("listening on http://[0-9.]+:([0-9]+)")));
    port_ = std::stoi(match[1]);
  }

  void start_worker() {
    ++workers_started_;
    worker_ = std::make_unique<ChildProcess>(
        "worker" + std::to_string(workers_started_),
        std::vector<std::string>{"worker", "--model", kKjvTiny, "--device", "cpu"},
        Environment{{"TESSERA_MN_WORKER_ID", "0"},
                    {"TESSERA_MN_WORKER_SERVER_ADDR", "127.0.0.1:" + std::to_string(cluster_port_)},
                    {"TESSERA_CLUSTER_SECRET", kSecret},
                    {"TESSERA_MN_JOIN_TIMEOUT", "60"}});
  }

  std::string everything() const {
    return (head_ ? head_->report() : "") + "\n" + (worker_ ? worker_->report() : "");
  }

  // A long greedy stream that has produced its first token.
  std::unique_ptr<HttpExchange> start_stream() {
    auto stream = std::make_unique<HttpExchange>(
        port_, "POST", "/v1/completions",
        R"({"prompt": "In the beginning", "max_tokens": 480, "temperature": 0,
            "ignore_eos": true, "stream": true})");
    EXPECT_TRUE(stream->read_until_text("\"choices\"", 30s)) << stream->text() << everything();
    return stream;
  }

  void expect_degraded_health() {
    const auto health = await_health(port_, 503, 5s);
    ASSERT_EQ(health.status, 503) << health.body << everything();
    const auto body = nlohmann::json::parse(health.body);
    EXPECT_EQ(body.at("status"), "degraded") << health.body;
    ASSERT_EQ(body.at("missing_workers").size(), 1u) << health.body;
    const auto& missing = body.at("missing_workers").at(0);
    EXPECT_EQ(missing.at("worker_id"), 0) << health.body;
    EXPECT_EQ(missing.at("name"), "worker 0 (global rank 1)") << health.body;
    EXPECT_TRUE(std::regex_match(missing.at("since").get<std::string>(),
                                 std::regex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z")))
        << health.body;
    EXPECT_GE(missing.at("seconds").get<double>(), 0.0) << health.body;
  }

  // A worker with the same id comes back: /health turns 200 and greedy text is HF's again.
  void expect_recovery() {
    start_worker();
    const auto health = await_health(port_, 200, 20s);
    ASSERT_EQ(health.status, 200) << health.body << everything();
    EXPECT_TRUE(head_->wait_for_stderr("cluster re-formed", 1s)) << head_->report();
    HttpExchange request(port_, "POST", "/v1/completions", golden_request_body());
    EXPECT_EQ(completion_text(read_reply(request, 20s)), golden().text) << everything();
  }

  int cluster_port_ = free_port();
  int port_ = 0;
  int workers_started_ = 0;
  std::unique_ptr<ChildProcess> head_;
  std::unique_ptr<ChildProcess> worker_;
};

TEST_F(ClusterRecovery, KilledWorkerFailsTheStreamThenRejoinsAndTheHeadServesAgain) {
  ASSERT_NO_FATAL_FAILURE(start("15"));
  auto stream = start_stream();
  const auto killed = Clock::now();
  worker_->kill(SIGKILL);
  ASSERT_TRUE(stream->read_until_text("\"error\"", 2s))
      << "no error 2 s after the worker died:\n" << stream->text().substr(0, 2000) << everything();
  EXPECT_LT(Clock::now() - killed, 2s);
  EXPECT_NE(stream->text().find("the cluster is unavailable: worker 0 (global rank 1) was lost"),
            std::string::npos)
      << stream->text().substr(0, 4000);
  ASSERT_NO_FATAL_FAILURE(expect_degraded_health());
  EXPECT_TRUE(head_->running()) << head_->report();
  expect_recovery();
}

TEST_F(ClusterRecovery, FrozenWorkerIsDroppedWithinTheHeartbeatTimeoutThenRejoins) {
  ASSERT_NO_FATAL_FAILURE(start("15"));
  auto stream = start_stream();
  const auto frozen = Clock::now();
  worker_->kill(SIGSTOP);
  // The middleman's connection timeout is 2 s and its heartbeats come every 500 ms.
  ASSERT_TRUE(stream->read_until_text("\"error\"", 4s))
      << "no error 4 s after the worker froze:\n" << stream->text().substr(0, 2000) << everything();
  EXPECT_GE(Clock::now() - frozen, 1500ms) << "a frozen worker is only noticed by its silence";
  EXPECT_NE(stream->text().find("worker 0 (global rank 1) was lost"), std::string::npos)
      << stream->text().substr(0, 4000);
  ASSERT_NO_FATAL_FAILURE(expect_degraded_health());
  // Thawed, it finds the head has dropped it, and stops by itself with a clear message.
  worker_->kill(SIGCONT);
  EXPECT_TRUE(worker_->wait_for(10s).has_value()) << worker_->report();
  EXPECT_NE(worker_->err().find("the head went away or dropped this worker"), std::string::npos)
      << worker_->report();
  expect_recovery();
}

TEST_F(ClusterRecovery, RequestWhileDegradedWaitsForTheWorkerOrFailsWith503) {
  ASSERT_NO_FATAL_FAILURE(start("6"));
  worker_->kill(SIGKILL);
  ASSERT_NO_FATAL_FAILURE(expect_degraded_health());

  // Sent while the worker is missing, answered once it is back.
  {
    HttpExchange waiting(port_, "POST", "/v1/completions", golden_request_body());
    std::this_thread::sleep_for(1s);
    start_worker();
    EXPECT_EQ(completion_text(read_reply(waiting, 20s)), golden().text) << everything();
  }

  // The worker does not come back: the request fails after the recovery timeout, with a 503
  // that says which worker is missing.
  ASSERT_EQ(await_health(port_, 200, 5s).status, 200) << everything();
  worker_->kill(SIGKILL);
  ASSERT_NO_FATAL_FAILURE(expect_degraded_health());
  const auto sent = Clock::now();
  HttpExchange abandoned(port_, "POST", "/v1/completions", golden_request_body());
  const auto reply = read_reply(abandoned, 12s);
  const auto waited = Clock::now() - sent;
  EXPECT_EQ(reply.status, 503) << reply.body << everything();
  EXPECT_GE(waited, 5500ms);
  EXPECT_LT(waited, 9s);
  EXPECT_NE(reply.body.find("the cluster is unavailable: waiting for worker 0 (global rank 1)"),
            std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find("gave up after waiting 6 s"), std::string::npos) << reply.body;
  EXPECT_TRUE(head_->running()) << head_->report();
}

TEST(ClusterJoin, WorkerStopsAtOnceWhenTheHeadDiesWhileItWaitsForTheOthers) {
  const int cluster_port = free_port();
  // kjv-tiny's 8 heads split over 4 ranks: 2 on the head and one on each worker.
  ChildProcess head("head",
                    {"serve", "--model", kKjvTiny, "--device", "cpu", "--port", "0", "--tp", "2"},
                    {{"TESSERA_MN_GLOBAL_WORLD_SIZE", "4"},
                     {"TESSERA_MN_HEAD_NUM_WORKERS", "2"},
                     {"TESSERA_MN_HEAD_PORT", std::to_string(cluster_port)},
                     {"TESSERA_CLUSTER_SECRET", kSecret}});
  ChildProcess worker("worker", {"worker", "--model", kKjvTiny, "--device", "cpu"},
                      {{"TESSERA_MN_WORKER_ID", "0"},
                       {"TESSERA_MN_WORKER_SERVER_ADDR", "127.0.0.1:" + std::to_string(cluster_port)},
                       {"TESSERA_CLUSTER_SECRET", kSecret},
                       {"TESSERA_MN_JOIN_TIMEOUT", "120"}});
  ASSERT_TRUE(head.wait_for_stderr("worker 0 admitted", 60s)) << head.report() << worker.report();
  head.kill(SIGKILL);
  const auto code = worker.wait_for(5s);
  ASSERT_TRUE(code.has_value()) << "the worker outlived its head\n" << worker.report();
  EXPECT_EQ(*code, 1) << worker.report();
  EXPECT_NE(worker.err().find("the head went away while this worker waited to join"),
            std::string::npos)
      << worker.report();
}

}  // namespace
}  // namespace tessera::testing
