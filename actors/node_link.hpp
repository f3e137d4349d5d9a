#pragma once
// Node links carry the step protocol between the head and one worker process, so that the
// scheduler drives a worker's ranks exactly as it drives a local shard.
//
// The head keeps one *head node link* per worker and puts it among its shards (after its own
// ranks). It answers the shard protocol (shard_actor.hpp) for all of that worker's ranks at once:
//   init_atom -> ShardReady, (allocate_atom, blocks) -> ShardReady: the worker rank with the least
//     room for KV blocks (the engine sizes the pool by the tightest rank);
//   StepPlan -> ShardAck: healthy only when every rank of the worker was.
// It forwards each message to the worker's node link over CAF remote, and because CAF does not
// fail requests pending on a node that died, it tracks them itself: when the worker's link goes
// down (down_msg: killed, or silent past the middleman's connection timeout) every outstanding
// request, and every later one, fails at once with an error naming the worker and its ranks.
// For recovery it also takes:
//   (mn_watch_atom, listener): on a loss, first send the listener (the scheduler)
//     (mn_lost_atom, worker_id, "worker 0 (global rank 1)", reason), then fail what is outstanding;
//   (mn_rebind_atom, worker_link) -> true: the worker joined again; forward to its new link;
//   (regroup_atom, store_prefix) -> ShardReady: forwarded like init (shard_actor.hpp).
//
// The worker runs one *worker node link* in front of its local shards. It is spawned before the
// worker joins (the head needs its handle), and holds back every message until it receives the
// local shards as a std::vector<caf::actor>, in rank order; it then fans each message out to all
// of them (ranks meet in collectives, so all must get it at once) and combines their answers
// (regroup_atom like init).
#include <chrono>
#include <cstdint>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace tessera::actors {

struct HeadNodeLinkConfig {
  caf::actor worker_link;  // the worker's node link (a remote actor)
  std::int32_t worker_id = 0;
  std::int32_t first_rank = 1;  // the worker's global ranks: first_rank … first_rank + ranks - 1
  std::int32_t ranks = 1;
  std::chrono::milliseconds start_timeout{120000};  // init and allocate; steps have no deadline
                                                    // here: the scheduler keeps it
};

caf::actor spawn_head_node_link(caf::actor_system& system, HeadNodeLinkConfig config);

struct WorkerNodeLinkConfig {
  std::chrono::milliseconds start_timeout{120000};
};

caf::actor spawn_worker_node_link(caf::actor_system& system, WorkerNodeLinkConfig config);

}  // namespace tessera::actors
