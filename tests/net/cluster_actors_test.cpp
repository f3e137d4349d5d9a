// The cluster's actors inside one process: messages round-trip through CAF's serializer, the
// head's store carries a real Gloo rendezvous, and node links combine their ranks' answers and
// fail what is outstanding, naming the worker, the moment the worker is gone.
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <memory>
#include <thread>

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
        return actors::ShardAck{plan.step, rank, error.empty(), error};
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
            EXPECT_EQ(ack.error, "rank 3: out of memory");
          },
          [](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
}

}  // namespace
}  // namespace tessera::net
