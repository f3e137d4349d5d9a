// A head and its workers as separate `tessera` processes on loopback (CPU backend, Gloo): they
// generate the same greedy tokens as one process, refuse a worker that does not belong with the
// reason on both sides, and a worker killed mid-generation fails the request within 2 s. Every
// wait is bounded and every child is killed when its test ends.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/cluster/child_process.hpp"
#include "tests/support/fixture_models.hpp"
#include "tests/support/scratch_dir.hpp"

namespace tessera::testing {
namespace {

using namespace std::chrono_literals;
using Environment = std::map<std::string, std::string>;

const std::string kSecret = "test-secret";
const std::filesystem::path kKjvTiny = std::filesystem::path(TESSERA_SOURCE_DIR) / "models/kjv-tiny";

std::string ids_text(const nlohmann::json& ids) {
  std::string text;
  for (const auto& id : ids) text += (text.empty() ? "" : ",") + std::to_string(id.get<int>());
  return text;
}

struct Cluster {
  int port = free_port();
  int head_ranks = 1;
  int expert_ranks = 1;  // the head's --ep: experts over this many of the cluster's ranks
  std::vector<int> worker_ranks{1};

  int world_size() const {
    int world = head_ranks;
    for (const int r : worker_ranks) world += r;
    return world;
  }
  Environment head_environment() const {
    return {{"TESSERA_MN_GLOBAL_WORLD_SIZE", std::to_string(world_size())},
            {"TESSERA_MN_HEAD_NUM_WORKERS", std::to_string(worker_ranks.size())},
            {"TESSERA_MN_HEAD_PORT", std::to_string(port)},
            {"TESSERA_CLUSTER_SECRET", kSecret},
            {"TESSERA_MN_JOIN_TIMEOUT", "60"}};
  }
  Environment worker_environment(int id) const {
    return {{"TESSERA_MN_WORKER_ID", std::to_string(id)},
            {"TESSERA_MN_WORKER_SERVER_ADDR", "127.0.0.1:" + std::to_string(port)},
            {"TESSERA_CLUSTER_SECRET", kSecret},
            {"TESSERA_MN_JOIN_TIMEOUT", "60"}};
  }
  std::unique_ptr<ChildProcess> worker(int id, const std::filesystem::path& model,
                                       Environment extra = {}) const {
    auto env = worker_environment(id);
    for (const auto& [k, v] : extra) env[k] = v;
    return std::make_unique<ChildProcess>(
        "worker" + std::to_string(id),
        std::vector<std::string>{"worker", "--model", model.string(), "--device", "cpu", "--tp",
                                 std::to_string(worker_ranks.at(static_cast<std::size_t>(id)))},
        env);
  }
  std::vector<std::unique_ptr<ChildProcess>> workers(const std::filesystem::path& model) const {
    std::vector<std::unique_ptr<ChildProcess>> all;
    for (int id = 0; id < static_cast<int>(worker_ranks.size()); ++id) all.push_back(worker(id, model));
    return all;
  }
};

std::vector<std::string> generate_arguments(const std::filesystem::path& model, int ranks,
                                            const std::string& prompt_ids, int max_tokens,
                                            int expert_ranks = 1) {
  return {"generate", "--model", model.string(), "--device", "cpu", "--tp", std::to_string(ranks),
          "--ep", std::to_string(expert_ranks), "--prompt-ids", prompt_ids, "--max-tokens",
          std::to_string(max_tokens), "--temperature", "0", "--json"};
}

std::string everything(const ChildProcess& head,
                       const std::vector<std::unique_ptr<ChildProcess>>& workers) {
  std::string text = head.report();
  for (const auto& w : workers) text += "\n" + w->report();
  return text;
}

// The head's greedy tokens for `prompt_ids`, with the workers started first when
// `workers_first` (start order must not matter).
nlohmann::json cluster_tokens(const Cluster& cluster, const std::filesystem::path& model,
                              const std::string& prompt_ids, int max_tokens,
                              bool workers_first = false) {
  std::vector<std::unique_ptr<ChildProcess>> workers;
  if (workers_first) {
    workers = cluster.workers(model);
    std::this_thread::sleep_for(300ms);
  }
  ChildProcess head("head",
                    generate_arguments(model, cluster.head_ranks, prompt_ids, max_tokens,
                                       cluster.expert_ranks),
                    cluster.head_environment());
  if (!workers_first) workers = cluster.workers(model);
  const auto code = head.wait_for(120s);
  EXPECT_EQ(code, std::optional<int>(0)) << everything(head, workers);
  if (code != 0) return nullptr;
  EXPECT_NE(head.err().find("cluster ready"), std::string::npos) << head.report();
  for (auto& w : workers) {  // the head is gone: each worker stops by itself
    EXPECT_EQ(w->wait_for(20s), std::optional<int>(0)) << w->report();
  }
  return nlohmann::json::parse(head.out()).at("token_ids");
}

void expect_golden(const Cluster& cluster, const std::string& name, bool workers_first = false) {
  const auto dir = fixture_models_dir() / name;
  const auto golden = read_json_file(dir / "golden.json");
  const auto& c = golden.at("cases").at(0);
  const auto tokens = cluster_tokens(cluster, dir, ids_text(c.at("prompt_ids")),
                                     c.at("max_new_tokens").get<int>(), workers_first);
  EXPECT_EQ(tokens, c.at("generated_ids")) << name;
}

TEST(Cluster, HeadAndOneWorkerMatchTheGoldenOnEveryFixture) {
  for (const auto& name : fixture_model_names()) {
    SCOPED_TRACE(name);
    expect_golden(Cluster{}, name);
  }
}

TEST(Cluster, HeadAndThreeWorkersMatchTheGolden) {
  Cluster cluster;
  cluster.worker_ranks = {1, 1, 1};
  for (const std::string name : {"llama3_rope", "qwen3_qknorm", "mistral_sliding"}) {
    SCOPED_TRACE(name);
    cluster.port = free_port();
    expect_golden(cluster, name, /*workers_first=*/name == "qwen3_qknorm");
  }
}

TEST(Cluster, TwoRanksPerNodeMatchTheGolden) {
  Cluster cluster;
  cluster.head_ranks = 2;
  cluster.worker_ranks = {2};
  for (const std::string name : {"llama2", "qwen2_bias"}) {
    SCOPED_TRACE(name);
    cluster.port = free_port();
    expect_golden(cluster, name);
  }
}

TEST(Cluster, ExpertsSpreadOverTheHeadAndAWorkerMatchTheGolden) {
  Cluster cluster;
  cluster.expert_ranks = 2;
  for (const auto& name : moe_fixture_model_names()) {
    SCOPED_TRACE(name);
    cluster.port = free_port();
    expect_golden(cluster, name);
  }
}

TEST(Cluster, KjvTinyMatchesOneProcess) {
  const std::string prompt = "1,2,3,4,5,6,7,8";
  ChildProcess single("single", generate_arguments(kKjvTiny, 1, prompt, 24));
  ASSERT_EQ(single.wait_for(60s), std::optional<int>(0)) << single.report();
  const auto expected = nlohmann::json::parse(single.out()).at("token_ids");
  EXPECT_EQ(cluster_tokens(Cluster{}, kKjvTiny, prompt, 24, /*workers_first=*/true), expected);
}

// The head (waiting for its workers) and the worker both log `reason`; the worker exits 1.
void expect_refusal(const Cluster& cluster, const std::filesystem::path& worker_model,
                    const Environment& worker_extra, const std::string& reason,
                    int worker_id = 0) {
  ChildProcess head("head", generate_arguments(kKjvTiny, cluster.head_ranks, "1,2,3", 4),
                    cluster.head_environment());
  auto worker = cluster.worker(worker_id, worker_model, worker_extra);
  EXPECT_EQ(worker->wait_for(60s), std::optional<int>(1)) << worker->report();
  EXPECT_NE(worker->err().find(reason), std::string::npos) << worker->report();
  EXPECT_TRUE(head.wait_for_stderr("refused worker " + std::to_string(worker_id), 10s))
      << head.report();
  EXPECT_NE(head.err().find(reason), std::string::npos) << head.report();
  EXPECT_TRUE(head.running()) << "the head keeps waiting for a worker that belongs\n" << head.report();
}

TEST(Cluster, WrongSecretIsRefusedOnBothSides) {
  expect_refusal(Cluster{}, kKjvTiny, {{"TESSERA_CLUSTER_SECRET", "not-it"}},
                 "worker 0 presented the wrong cluster secret");
}

TEST(Cluster, WrongModelIsRefusedWithBothFingerprints) {
  expect_refusal(Cluster{}, fixture_models_dir() / "llama2", {},
                 "fingerprint differs from the head's: head has tessera");
}

TEST(Cluster, WrongWorldSizeIsRefused) {
  Cluster cluster;
  auto env = cluster.head_environment();
  // The head expects 4 ranks (kjv-tiny's 8 heads split over 4), but it and its one worker hold 2.
  env["TESSERA_MN_GLOBAL_WORLD_SIZE"] = "4";
  ChildProcess head("head", generate_arguments(kKjvTiny, 1, "1,2,3", 4), env);
  auto worker = cluster.worker(0, kKjvTiny);
  EXPECT_EQ(worker->wait_for(60s), std::optional<int>(1)) << worker->report();
  const std::string reason = "global world size is 4, but the head's 1 rank(s), 0 of the workers "
                             "already in, 1 of worker 0 add up to 2";
  EXPECT_NE(worker->err().find(reason), std::string::npos) << worker->report();
  EXPECT_TRUE(head.wait_for_stderr(reason, 10s)) << head.report();
}

TEST(Cluster, DuplicateWorkerIdIsRefused) {
  Cluster cluster;
  cluster.worker_ranks = {1, 1, 1};  // 4 ranks: kjv-tiny's 8 heads do not split over 3
  ChildProcess head("head", generate_arguments(kKjvTiny, 1, "1,2,3", 4), cluster.head_environment());
  auto first = cluster.worker(0, kKjvTiny);
  ASSERT_TRUE(head.wait_for_stderr("worker 0 admitted", 60s)) << everything(head, {});
  auto second = cluster.worker(0, kKjvTiny);
  EXPECT_EQ(second->wait_for(60s), std::optional<int>(1)) << second->report();
  EXPECT_NE(second->err().find("duplicate"), std::string::npos) << second->report();
  EXPECT_TRUE(head.wait_for_stderr("worker id 0 is a duplicate", 10s)) << head.report();
  EXPECT_TRUE(first->running()) << first->report();
}

// Streams `max_tokens` greedy tokens from a head and one worker, kills the worker once tokens
// flow, and expects the request to fail within 2 s, naming the cause.
void expect_a_killed_worker_fails_the_request(const std::filesystem::path& model, int max_tokens,
                                              int expert_ranks) {
  Cluster cluster;
  cluster.expert_ranks = expert_ranks;
  std::vector<std::string> arguments =
      generate_arguments(model, 1, "1,2,3", max_tokens, expert_ranks);
  arguments.erase(arguments.end() - 1);  // stream tokens instead of one JSON object at the end
  arguments.push_back("--ignore-eos");
  ChildProcess head("head", arguments, cluster.head_environment());
  auto worker = cluster.worker(0, model);
  ASSERT_TRUE(head.wait_for_stderr("cluster ready", 60s)) << everything(head, {});
  const auto streaming_deadline = std::chrono::steady_clock::now() + 30s;
  while (head.out().empty() && std::chrono::steady_clock::now() < streaming_deadline) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_FALSE(head.out().empty()) << head.report();
  ASSERT_TRUE(head.running()) << "generation ended before the worker could be killed";
  const auto killed = std::chrono::steady_clock::now();
  worker->kill(SIGKILL);
  const auto code = head.wait_for(2s);
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  ASSERT_TRUE(code.has_value()) << "no answer 2 s after the worker died\n" << head.report();
  EXPECT_EQ(*code, 1) << head.report();
  EXPECT_LT(seconds, 2.0);
  // Whichever notices first ends the step: the node link's down message, or the head's own rank,
  // whose Gloo collective with the dead worker breaks. Both name the cause.
  const bool link_noticed = head.err().find("worker 0 (global rank 1)") != std::string::npos &&
                            head.err().find("lost") != std::string::npos;
  const bool collective_noticed = head.err().find("Gloo") != std::string::npos;
  EXPECT_TRUE(link_noticed || collective_noticed) << head.report();
}

TEST(Cluster, WorkerKilledMidGenerationFailsTheRequestWithinTwoSeconds) {
  expect_a_killed_worker_fails_the_request(kKjvTiny, 480, 1);
}

TEST(Cluster, WorkerKilledMidExpertExchangeFailsTheRequestWithinTwoSeconds) {
  // Every step sums the experts' outputs over both processes (--ep 2). The fixture's context is
  // widened so that the generation outlasts the kill by far (its RoPE needs no table).
  test::ScratchDir dir;
  const auto fixture = fixture_models_dir() / "qwen3_moe";
  std::filesystem::copy(fixture, dir.path(), std::filesystem::copy_options::recursive);
  auto config = read_json_file(fixture / "config.json");
  config["max_position_embeddings"] = 8192;
  dir.write("config.json", config.dump());
  expect_a_killed_worker_fails_the_request(dir.path(), 8000, 2);
}

}  // namespace
}  // namespace tessera::testing
