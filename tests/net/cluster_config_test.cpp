// Cluster roles from flags and environment variables: both spellings, flags over variables, and
// a refusal naming the setting and its value for every inconsistent combination.
#include <gtest/gtest.h>

#include <map>

#include "net/cluster/cluster_config.hpp"
#include "runtime/core/error.hpp"

namespace tessera::net {
namespace {

using Variables = std::map<std::string, std::string>;

Environment environment(Variables variables) {
  return [variables = std::move(variables)](const std::string& name) -> std::optional<std::string> {
    const auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
}

ClusterConfig resolve(const Variables& variables, const ClusterFlags& flags = {}, int ranks = 1) {
  return resolve_cluster_config(flags, environment(variables), ranks);
}

// Refused, and the message names every fragment.
void expect_refused(const Variables& variables, const std::vector<std::string>& fragments,
                    const ClusterFlags& flags = {}, int ranks = 1) {
  try {
    resolve(variables, flags, ranks);
    ADD_FAILURE() << "accepted; expected a refusal naming " << fragments.front();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::invalid_argument);
    for (const auto& fragment : fragments) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
          << "'" << fragment << "' missing from: " << e.what();
    }
  }
}

const Variables kHead = {{"TESSERA_MN_GLOBAL_WORLD_SIZE", "3"},
                         {"TESSERA_MN_HEAD_NUM_WORKERS", "2"},
                         {"TESSERA_MN_HEAD_PORT", "9100"},
                         {"TESSERA_CLUSTER_SECRET", "s3cret"}};
const Variables kWorker = {{"TESSERA_MN_WORKER_ID", "1"},
                           {"TESSERA_MN_WORKER_SERVER_ADDR", "10.0.0.7:9100"},
                           {"TESSERA_CLUSTER_SECRET", "s3cret"}};

Variables with(Variables base, const Variables& extra) {
  for (const auto& [k, v] : extra) base[k] = v;
  return base;
}

TEST(ClusterConfig, NothingSetIsASingleNode) {
  const auto c = resolve({});
  EXPECT_EQ(c.role, ClusterRole::single);
  EXPECT_FALSE(c.clustered());
}

TEST(ClusterConfig, HeadFromTesseraVariables) {
  const auto c = resolve(kHead);
  EXPECT_EQ(c.role, ClusterRole::head);
  EXPECT_EQ(c.global_world_size, 3);
  EXPECT_EQ(c.head_num_workers, 2);
  EXPECT_EQ(c.head_port, 9100);
  EXPECT_EQ(c.secret, "s3cret");
}

TEST(ClusterConfig, WorkerFromMistralrsSpellings) {
  const auto c = resolve({{"MISTRALRS_MN_WORKER_ID", "0"},
                          {"MISTRALRS_MN_WORKER_SERVER_ADDR", "head.local:7000"},
                          {"MISTRALRS_NO_NCCL", "1"},
                          {"TESSERA_CLUSTER_SECRET", "x"}});
  EXPECT_EQ(c.role, ClusterRole::worker);
  EXPECT_EQ(c.worker_id, 0);
  EXPECT_EQ(c.head_host, "head.local");
  EXPECT_EQ(c.head_server_port, 7000);
  EXPECT_TRUE(c.no_nccl);
}

TEST(ClusterConfig, Ipv6AddressInBrackets) {
  const auto c = resolve(with(kWorker, {{"TESSERA_MN_WORKER_SERVER_ADDR", "[::1]:9000"}}));
  EXPECT_EQ(c.head_host, "::1");
  EXPECT_EQ(c.head_server_port, 9000);
}

TEST(ClusterConfig, FlagsWinOverVariables) {
  ClusterFlags flags;
  flags.worker_id = "0";
  flags.cluster_secret = "from-flag";
  flags.join_timeout = "2.5";
  const auto c = resolve(kWorker, flags);
  EXPECT_EQ(c.worker_id, 0);
  EXPECT_EQ(c.secret, "from-flag");
  EXPECT_EQ(c.join_timeout, std::chrono::milliseconds(2500));
}

TEST(ClusterConfig, DisagreeingSpellingsAreRefused) {
  expect_refused(with(kHead, {{"MISTRALRS_MN_HEAD_PORT", "9200"}}),
                 {"TESSERA_MN_HEAD_PORT='9100'", "MISTRALRS_MN_HEAD_PORT='9200'"});
  // Agreeing ones are fine.
  EXPECT_EQ(resolve(with(kHead, {{"MISTRALRS_MN_HEAD_PORT", "9100"}})).head_port, 9100);
}

TEST(ClusterConfig, HeadAndWorkerSettingsTogetherAreRefused) {
  expect_refused(with(kHead, {{"TESSERA_MN_WORKER_ID", "0"}}),
                 {"TESSERA_MN_HEAD_NUM_WORKERS", "TESSERA_MN_HEAD_PORT", "TESSERA_MN_WORKER_ID",
                  "either the head or a worker"});
}

TEST(ClusterConfig, HeadWithZeroWorkersIsRefused) {
  expect_refused(with(kHead, {{"TESSERA_MN_HEAD_NUM_WORKERS", "0"}}),
                 {"TESSERA_MN_HEAD_NUM_WORKERS is 0", "at least one worker"});
}

TEST(ClusterConfig, HeadNeedsPortWorldSizeAndWorkerCount) {
  Variables no_port = kHead;
  no_port.erase("TESSERA_MN_HEAD_PORT");
  expect_refused(no_port, {"--mn-head-port", "TESSERA_MN_HEAD_PORT"});
  Variables no_world = kHead;
  no_world.erase("TESSERA_MN_GLOBAL_WORLD_SIZE");
  expect_refused(no_world, {"TESSERA_MN_GLOBAL_WORLD_SIZE"});
  Variables no_workers = kHead;
  no_workers.erase("TESSERA_MN_HEAD_NUM_WORKERS");
  expect_refused(no_workers, {"TESSERA_MN_HEAD_NUM_WORKERS", "worker count"});
}

TEST(ClusterConfig, WorldSizeSmallerThanPossibleIsRefused) {
  // 2 ranks on the head and 2 workers need at least 4.
  expect_refused(kHead, {"TESSERA_MN_GLOBAL_WORLD_SIZE is 3", "smaller than possible", "2 rank(s)",
                         "make 4"},
                 {}, 2);
}

TEST(ClusterConfig, WorkerIdOutOfRangeIsRefused) {
  expect_refused(with(kWorker, {{"TESSERA_MN_WORKER_ID", "-1"}}),
                 {"TESSERA_MN_WORKER_ID", "'-1'"});
  expect_refused(with(kWorker, {{"TESSERA_MN_GLOBAL_WORLD_SIZE", "2"}, {"TESSERA_MN_WORKER_ID", "1"}}),
                 {"TESSERA_MN_WORKER_ID is 1", "out of range", "TESSERA_MN_GLOBAL_WORLD_SIZE=2",
                  "0 to 0"});
}

TEST(ClusterConfig, MalformedValuesAreNamed) {
  expect_refused(with(kWorker, {{"TESSERA_MN_WORKER_SERVER_ADDR", "10.0.0.7"}}),
                 {"TESSERA_MN_WORKER_SERVER_ADDR", "HOST:PORT", "'10.0.0.7'", "no port"});
  expect_refused(with(kWorker, {{"TESSERA_MN_WORKER_SERVER_ADDR", ":9000"}}), {"no host"});
  expect_refused(with(kWorker, {{"TESSERA_MN_WORKER_SERVER_ADDR", "h:99999"}}),
                 {"TESSERA_MN_WORKER_SERVER_ADDR's port", "'99999'"});
  expect_refused(with(kHead, {{"TESSERA_MN_HEAD_PORT", "12ab"}}), {"TESSERA_MN_HEAD_PORT", "'12ab'"});
  expect_refused(with(kHead, {{"TESSERA_NO_NCCL", "maybe"}}), {"TESSERA_NO_NCCL", "'maybe'"});
  ClusterFlags flags;
  flags.join_timeout = "-1";
  expect_refused(kHead, {"--mn-join-timeout", "'-1'"}, flags);
}

TEST(ClusterConfig, WorkerNeedsIdAndAddress) {
  expect_refused({{"TESSERA_MN_WORKER_ID", "0"}, {"TESSERA_CLUSTER_SECRET", "x"}},
                 {"TESSERA_MN_WORKER_SERVER_ADDR", "only TESSERA_MN_WORKER_ID is set"});
}

TEST(ClusterConfig, ClusterNeedsASecret) {
  Variables no_secret = kWorker;
  no_secret.erase("TESSERA_CLUSTER_SECRET");
  expect_refused(no_secret, {"worker", "--cluster-secret", "TESSERA_CLUSTER_SECRET"});
}

TEST(ClusterConfig, WorldSizeAloneIsRefused) {
  expect_refused({{"TESSERA_MN_GLOBAL_WORLD_SIZE", "4"}}, {"TESSERA_MN_GLOBAL_WORLD_SIZE is set"});
}

TEST(ClusterConfig, ClusterRunsOnTheCpu) {
  const auto head = resolve(kHead);
  EXPECT_EQ(cluster_device(head, actors::DeviceKind::automatic, "--device"), actors::DeviceKind::cpu);
  EXPECT_THROW(cluster_device(head, actors::DeviceKind::cuda, "--device"), Error);
  EXPECT_EQ(cluster_device(resolve({}), actors::DeviceKind::cuda, "--device"),
            actors::DeviceKind::cuda);
}

}  // namespace
}  // namespace tessera::net
