// The cluster's actors inside one process: messages round-trip through CAF's serializer, the
// head's store carries a real Gloo rendezvous, and node links combine their ranks' answers and
// fail what is outstanding, naming the worker, the moment the worker is gone; a failure keeps
// its category on the way from a worker's shard to the head.
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/io/middleman.hpp>
#include <memory>
#include <thread>

#include "actors/failure_message.hpp"
#include "actors/messages.hpp"
#include "actors/node_link.hpp"
#include "net/cluster/cluster_messages.hpp"
#include "net/cluster/cluster_system.hpp"
#include "net/cluster/remote_store.hpp"
#include "net/cluster/store_actor.hpp"
#include "runtime/comm/gloo_communicator.hpp"
#include "runtime/core/error.hpp"

namespace tessera::net {
namespace {

using namespace std::chrono_literals;

// Actor handles need the actor system to (de)serialize; plain data does not care.
template <class T>
std::vector<char> serialize(T& value, caf::actor_system& system) {
  std::vector<char> buf;
  caf::binary_serializer sink{system, buf};
  EXPECT_FALSE(sink(value));
  return buf;
}

template <class T>
T round_trip(T value, caf::actor_system& system) {
  auto bytes = serialize(value, system);
  T back{};
  caf::binary_deserializer source{system, bytes};
  EXPECT_FALSE(source(back));
  EXPECT_EQ(serialize(back, system), bytes);
  return back;
}

class ClusterActors : public ::testing::Test {
 protected:
  static std::unique_ptr<caf::actor_system_config> make_config() {
    auto cfg = std::make_unique<caf::actor_system_config>();
    actors::configure_actor_system(*cfg);
    register_cluster_message_types(*cfg);
    return cfg;
  }
  std::unique_ptr<caf::actor_system_config> cfg_ = make_config();
  caf::actor_system system_{*cfg_};
  std::vector<caf::actor> spawned_;

  ~ClusterActors() override {
    for (auto& actor : spawned_) caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  }
  caf::actor keep(caf::actor actor) {
    spawned_.push_back(actor);
    return actor;
  }
};

TEST_F(ClusterActors, MessagesRoundTrip) {
  const NodeFingerprint fingerprint{"0.1.0", 0xfeedULL, "BF16+F32", "cpu"};
  EXPECT_EQ(round_trip(fingerprint, system_), fingerprint);
  const auto request = round_trip(JoinRequest{"secret", 3, fingerprint, 2, 8}, system_);
  EXPECT_EQ(request.secret, "secret");
  EXPECT_EQ(request.worker_id, 3);
  EXPECT_EQ(request.fingerprint, fingerprint);
  EXPECT_EQ(request.local_ranks, 2);
  EXPECT_EQ(request.global_world_size, 8);
  const auto store = keep(spawn_store_actor(system_));
  // The layout and the head's seed base travel too: a worker's shards are built from them.
  const auto accepted =
      round_trip(JoinAccepted{5, 4, 2, 1, store, 0xfedcba9876543210ULL}, system_);
  EXPECT_EQ(accepted.first_rank, 5);
  EXPECT_EQ(accepted.layout_tp, 4);
  EXPECT_EQ(accepted.layout_pp, 2);
  EXPECT_EQ(accepted.layout_ep, 1);
  EXPECT_EQ(accepted.store, store);
  EXPECT_EQ(accepted.seed_base, 0xfedcba9876543210ULL);
}

TEST_F(ClusterActors, GlooRanksMeetThroughTheStoreActor) {
  auto store_actor = keep(spawn_store_actor(system_));
  auto store = std::make_shared<RemoteStore>(system_, store_actor, 10s);
  runtime::GlooOptions options;
  options.timeout = 10s;
  std::vector<std::string> failures(2);
  std::vector<std::thread> ranks;
  for (int rank = 0; rank < 2; ++rank) {
    ranks.emplace_back([&, rank] {
      try {
        runtime::GlooCommunicator communicator(store, rank, 2, options);
        communicator.barrier();
      } catch (const std::exception& e) {
        failures[static_cast<std::size_t>(rank)] = e.what();
      }
    });
  }
  for (auto& t : ranks) t.join();
  EXPECT_EQ(failures[0], "");
  EXPECT_EQ(failures[1], "");
}

TEST_F(ClusterActors, StoreWaitHasADeadlineAndNamesTheKey) {
  RemoteStore store(system_, keep(spawn_store_actor(system_)), 10s);
  store.set("present", {'x', '\0', 'y'});
  EXPECT_EQ(store.get("present"), (std::vector<char>{'x', '\0', 'y'}));
  const auto start = std::chrono::steady_clock::now();
  try {
    store.wait({"present", "never-written"}, 200ms);
    ADD_FAILURE() << "waiting for a key nobody writes returned";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("never-written"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

// A worker's node link that takes every step and never answers, until it dies.
caf::behavior silent_worker(caf::event_based_actor* self,
                            std::shared_ptr<std::vector<caf::response_promise>> held) {
  return {[=](const actors::StepPlan&) {
    held->push_back(self->make_response_promise());
    return held->back();
  }};
}

TEST_F(ClusterActors, HeadLinkFailsOutstandingStepsWhenTheWorkerGoes) {
  auto held = std::make_shared<std::vector<caf::response_promise>>();
  auto worker = system_.spawn(silent_worker, held);
  actors::HeadNodeLinkConfig config;
  config.worker_link = worker;
  config.worker_id = 3;
  config.first_rank = 4;
  config.ranks = 2;
  auto link = keep(actors::spawn_head_node_link(system_, config));

  caf::scoped_actor self{system_};
  auto pending = self->request(link, 20s, actors::StepPlan{7, {}, {}});
  std::this_thread::sleep_for(50ms);  // the step reached the worker and waits there
  const auto start = std::chrono::steady_clock::now();
  caf::anon_send_exit(worker, caf::exit_reason::kill);
  std::string failure;
  pending.receive([](const actors::ShardAck&) {},
                  [&](caf::error& e) { failure = system_.render(e); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_NE(failure.find("worker 3 (global ranks 4-5)"), std::string::npos) << failure;
  EXPECT_NE(failure.find("lost"), std::string::npos) << failure;

  // Once lost, every later step fails at once.
  failure.clear();
  self->request(link, 20s, actors::StepPlan{8, {}, {}})
      .receive([](const actors::ShardAck&) {}, [&](caf::error& e) { failure = system_.render(e); });
  EXPECT_NE(failure.find("worker 3"), std::string::npos) << failure;
  held->clear();
}

// A local shard that answers like a real one: ShardReady with `capacity`, and a ShardAck that is
// unhealthy when `error` is set.
caf::behavior fake_shard(caf::event_based_actor*, int rank, std::int64_t capacity,
                         std::string error) {
  return {
      [=](actors::init_atom) {
        actors::ShardReady ready;
        ready.rank = rank;
        ready.kv_capacity_blocks = capacity;
        return ready;
      },
      [=](const actors::StepPlan& plan) {
        return actors::ShardAck{plan.step, rank, error.empty(), {ErrorCategory::internal, {}, error}};
      },
  };
}

TEST_F(ClusterActors, WorkerLinkWaitsForItsShardsThenCombinesTheirAnswers) {
  auto link = keep(actors::spawn_worker_node_link(system_, {}));
  caf::scoped_actor self{system_};
  // Sent before the shards exist: held back, not failed.
  auto init = self->request(link, 10s, actors::init_atom::value);
  std::vector<caf::actor> shards{keep(system_.spawn(fake_shard, 2, 500, "")),
                                 keep(system_.spawn(fake_shard, 3, 300, "rank 3: out of memory"))};
  caf::anon_send(link, shards);
  init.receive([](const actors::ShardReady& ready) {
    EXPECT_EQ(ready.rank, 3);  // the tightest rank speaks for the node
    EXPECT_EQ(ready.kv_capacity_blocks, 300);
  }, [](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
  self->request(link, 10s, actors::StepPlan{11, {}, {}})
      .receive(
          [](const actors::ShardAck& ack) {
            EXPECT_EQ(ack.step, 11u);
            EXPECT_EQ(ack.rank, 2);
            EXPECT_FALSE(ack.healthy);
            EXPECT_EQ(ack.failure.message, "rank 3: out of memory");
          },
          [](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
}

// A worker's shard that fails as a real one does: its step with an unhealthy ShardAck, and init
// with a caf::error carrying the Failure.
caf::behavior broken_shard(caf::event_based_actor*, int rank, Failure failure) {
  return {
      [=](actors::init_atom) -> caf::result<actors::ShardReady> {
        return actors::to_caf_error(failure);
      },
      [=](const actors::StepPlan& plan) { return actors::ShardAck{plan.step, rank, false, failure}; },
  };
}

// Two actor systems joined by CAF's middleman over loopback TCP, as a head and a worker are: the
// worker's node link, published, and its shards on one side; the head's node link on the other.
// What fails on the worker reaches the head with its category and field, as the HTTP layer needs
// them (503 for unavailable, 500 for a broken checkpoint, 400 and `param` for a field).
TEST(NodeLinkAcrossNodes, FailuresKeepTheirCategory) {
  const auto networked = [] {
    auto cfg = std::make_unique<caf::actor_system_config>();
    actors::configure_actor_system(*cfg);
    register_cluster_message_types(*cfg);
    cfg->load<caf::io::middleman>();
    return cfg;
  };
  const auto worker_cfg = networked();
  caf::actor_system worker_system{*worker_cfg};
  const auto head_cfg = networked();
  caf::actor_system head_system{*head_cfg};

  const Failure broken{ErrorCategory::checkpoint, {}, "rank 4: model-00002.safetensors is truncated"};
  const Failure refused{ErrorCategory::invalid_argument, "top_k", "rank 5: top_k: too large"};
  const auto worker_link = actors::spawn_worker_node_link(worker_system, {});
  const std::vector<caf::actor> shards{worker_system.spawn(broken_shard, 4, broken),
                                       worker_system.spawn(broken_shard, 5, refused)};
  caf::anon_send(worker_link, shards);
  const auto port = worker_system.middleman().publish(worker_link, 0, "127.0.0.1");
  ASSERT_TRUE(port) << worker_system.render(port.error());
  auto remote = head_system.middleman().remote_actor("127.0.0.1", *port);
  ASSERT_TRUE(remote) << head_system.render(remote.error());

  actors::HeadNodeLinkConfig config;
  config.worker_link = *remote;
  config.worker_id = 2;
  config.first_rank = 4;
  config.ranks = 2;
  config.start_timeout = 10s;
  const auto head_link = actors::spawn_head_node_link(head_system, config);
  caf::scoped_actor self{head_system};

  // A step: the ranks' failures as one ShardAck, the first one's category and field.
  self->request(head_link, 10s, actors::StepPlan{3, {}, {}})
      .receive(
          [&](const actors::ShardAck& ack) {
            EXPECT_FALSE(ack.healthy);
            EXPECT_EQ(ack.failure.category, ErrorCategory::checkpoint);
            EXPECT_EQ(ack.failure.message, broken.message + "; " + refused.message);
          },
          [&](caf::error& e) { ADD_FAILURE() << head_system.render(e); });

  // init: a caf::error from the worker, its Failure named after the worker by the head's link.
  self->request(head_link, 10s, actors::init_atom::value)
      .receive([](const actors::ShardReady&) { ADD_FAILURE() << "a broken shard initialised"; },
               [&](caf::error& e) {
                 const auto failure = actors::failure_of(head_system, e);
                 EXPECT_EQ(failure.category, ErrorCategory::checkpoint);
                 EXPECT_EQ(failure.message, "worker 2 (global ranks 4-5): " + broken.message +
                                                "; " + refused.message);
               });

  // The worker goes: what the head sends it next fails as unavailable, the cluster's trouble.
  caf::anon_send_exit(worker_link, caf::exit_reason::kill);
  Failure lost;
  for (int attempt = 0; attempt < 100 && lost.category != ErrorCategory::unavailable; ++attempt) {
    self->request(head_link, 10s, actors::StepPlan{4, {}, {}})
        .receive([](const actors::ShardAck&) {},
                 [&](caf::error& e) { lost = actors::failure_of(head_system, e); });
    if (lost.category != ErrorCategory::unavailable) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(lost.category, ErrorCategory::unavailable) << lost.message;
  EXPECT_NE(lost.message.find("worker 2 (global ranks 4-5): lost"), std::string::npos) << lost.message;

  for (const auto& actor : {head_link}) caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  for (const auto& shard : shards) caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
}

}  // namespace
}  // namespace tessera::net
