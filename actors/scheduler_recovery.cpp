// A cluster head's scheduler when a worker is lost: fail what the lost ranks held, let queued
// requests wait (bounded), and re-form the group once every worker is back. The protocol is
// described in scheduler_actor.hpp.
#include <caf/all.hpp>
#include <cstdio>  // snprintf
#include <functional>
#include <memory>

#include "actors/failure_message.hpp"
#include "actors/messages.hpp"
#include "actors/scheduler_state.hpp"
#include "runtime/core/log.hpp"

namespace tessera::actors {
namespace {

std::string seconds_text(std::chrono::milliseconds duration) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", static_cast<double>(duration.count()) / 1000.0);
  return text;
}

// A request the cluster could not serve: the server's fault for now, so the client may retry.
Failure unavailable(const std::string& detail) {
  return {ErrorCategory::unavailable, {}, std::string(kClusterUnavailable) + detail};
}

const RecoveryConfig& recovery(const SchedulerActor* self) { return *self->state.config.recovery; }

// Why the cluster cannot serve now, for errors and /health.
std::string outage_text(const SchedulerState& state) {
  const auto& o = state.outage;
  if (!o.missing.empty()) {
    std::string text = "waiting for ";
    for (const auto& [id, m] : o.missing) {
      if (text.size() > 12) text += ", ";
      text += m.name + " (lost at " + utc_text(m.since) + ": " + m.reason + ")";
    }
    return text + " to join again";
  }
  if (o.regrouping) return "the group is re-forming after: " + o.cause;
  if (!o.last_failure.empty()) return "re-forming the group failed: " + o.last_failure;
  return o.cause + "; the group re-forms";
}

void arm_expiry(SchedulerActor* self, std::uint64_t id) {
  self->delayed_send(self, recovery(self).recovery_timeout, mn_expire_atom::value, id,
                     self->state.outage.epoch);
}

void break_group(SchedulerActor* self, const std::string& cause) {
  auto& state = self->state;
  auto& o = state.outage;
  if (o.broken) return;
  o.broken = true;
  o.cause = cause;
  o.since = SystemClock::now();
  o.last_failure.clear();
  ++o.epoch;
  // Requests queued already wait from now on, each at most the recovery timeout.
  for (const auto id : state.planner->ids()) {
    if (state.started.count(id) == 0) arm_expiry(self, id);
  }
}

// Every rank's answer to one message, in rank order; `done` gets them once all have answered.
using ReadyDone = std::function<void(std::vector<std::optional<ShardReady>>&, const std::string&)>;

void ask_ranks(SchedulerActor* self, const std::vector<std::size_t>& ranks,
               const caf::message& message, ReadyDone done) {
  struct Gathered {
    std::vector<std::optional<ShardReady>> ready;
    std::string failures;
    std::size_t left = 0;
    ReadyDone done;
  };
  auto gathered = std::make_shared<Gathered>();
  gathered->ready.resize(self->state.config.shards.size());
  gathered->left = ranks.size();
  gathered->done = std::move(done);
  if (ranks.empty()) {
    gathered->done(gathered->ready, gathered->failures);
    return;
  }
  for (const auto i : ranks) {
    const auto answered = [gathered] {
      if (--gathered->left == 0) gathered->done(gathered->ready, gathered->failures);
    };
    self->request(self->state.config.shards[i], recovery(self).start_timeout, message)
        .then(
            [=](const ShardReady& ready) {
              gathered->ready[i] = ready;
              answered();
            },
            [=](caf::error& error) {
              auto& failures = gathered->failures;
              failures += (failures.empty() ? "" : "; ") + failure_of(self->system(), error).message;
              answered();
            });
  }
}

void regroup_failed(SchedulerActor* self, const std::string& failures) {
  auto& o = self->state.outage;
  o.regrouping = false;
  o.last_failure = failures;
  logger().info("re-forming the group failed: {}", failures);
  publish_health(self);
  // A worker lost again waits for mn_back; otherwise try again shortly under a new prefix.
  if (o.missing.empty()) self->delayed_send(self, recovery(self).retry, regroup_atom::value);
}

void reformed(SchedulerActor* self) {
  auto& o = self->state.outage;
  o.broken = false;
  o.regrouping = false;
  o.cause.clear();
  o.last_failure.clear();
  ++o.reformations;
  logger().info("cluster re-formed (group {}); serving again", o.generation);
  publish_health(self);
  kick(self);
}

// Every rank leaves the broken group and joins a new one under a prefix no earlier group used
// (so no stale key of the dead group is ever read); then every rank without the agreed KV pool
// (a restarted worker) allocates it, so the pool has the same size everywhere.
void regroup(SchedulerActor* self) {
  auto& state = self->state;
  auto& o = state.outage;
  o.regrouping = true;
  const auto generation = ++o.generation;
  const std::string prefix = "tessera.g" + std::to_string(generation);
  logger().info("re-forming the group of {} node link(s) and shards (store prefix {})",
                state.config.shards.size(), prefix);
  publish_health(self);
  std::vector<std::size_t> every(state.config.shards.size());
  for (std::size_t i = 0; i < every.size(); ++i) every[i] = i;
  // A reply to an attempt that is no longer the current one changes nothing.
  const auto current = [self, generation] {
    return self->state.outage.regrouping && self->state.outage.generation == generation;
  };
  ask_ranks(self, every, caf::make_message(regroup_atom::value, prefix),
            [=](std::vector<std::optional<ShardReady>>& joined, const std::string& failures) {
              if (!current()) return;
              if (!failures.empty()) return regroup_failed(self, failures);
              const std::int64_t blocks = self->state.planner->total_blocks();
              std::vector<std::size_t> without_pool;
              for (std::size_t i = 0; i < joined.size(); ++i) {
                if (joined[i]->kv_blocks != blocks) without_pool.push_back(i);
              }
              ask_ranks(self, without_pool, caf::make_message(allocate_atom::value, blocks),
                        [=](std::vector<std::optional<ShardReady>>&, const std::string& failed) {
                          if (!current()) return;
                          if (!failed.empty()) return regroup_failed(self, failed);
                          reformed(self);
                        });
            });
}

}  // namespace

bool recovering(const SchedulerActor* self) {
  return self->state.config.recovery && self->state.outage.broken;
}

void publish_health(SchedulerActor* self) {
  const auto& state = self->state;
  if (!state.config.recovery || !state.config.recovery->health) return;
  const auto& o = state.outage;
  ClusterHealth health;
  health.reformations = o.reformations;
  if (o.broken) {
    health.healthy = false;
    health.state = o.regrouping ? "re-forming" : "degraded";
    health.reason = outage_text(state);
    health.degraded_since = o.since;
    for (const auto& [id, missing] : o.missing) health.missing.push_back(missing);
  }
  state.config.recovery->health->set(std::move(health));
}

void on_step_failed(SchedulerActor* self, const std::vector<std::uint64_t>& ids,
                    const Failure& failure) {
  auto& o = self->state.outage;
  if (!o.missing.empty()) {  // a lost worker is the cause; its words are clearer
    SamplerBatch batch;
    for (const auto id : ids) end_with_error(self, id, unavailable(outage_text(self->state)), batch);
    send_to_sampler(self, std::move(batch));
    return;
  }
  // The ranks' collectives may now be out of step: the group must re-form. Which worker (if
  // any) was lost its node link may say a moment later; until then the requests wait.
  break_group(self, "a step failed: " + failure.message);
  o.failed_steps.emplace_back(ids, failure);
  if (!o.settling) {
    o.settling = true;
    self->delayed_send(self, recovery(self).settle, mn_settle_atom::value);
  }
  publish_health(self);
}

void on_idle(SchedulerActor* self) {
  const auto& state = self->state;
  if (!state.config.recovery || state.stopping || state.in_flight) return;
  const auto& o = state.outage;
  if (!o.broken || o.regrouping || o.settling || !o.missing.empty()) return;
  regroup(self);
}

void on_queued(SchedulerActor* self, std::uint64_t id) {
  if (recovering(self)) arm_expiry(self, id);
}

caf::message_handler recovery_handlers(SchedulerActor* self) {
  return {
      [=](mn_lost_atom, std::int32_t worker_id, const std::string& name, const std::string& reason) {
        auto& state = self->state;
        auto& o = state.outage;
        o.missing[worker_id] = MissingWorker{worker_id, name, reason, SystemClock::now()};
        if (!state.config.recovery) return;
        break_group(self, name + " was lost");
        logger().info("the cluster is degraded: {} was lost; requests wait up to {} for it to join "
                      "again",
                      name, seconds_text(recovery(self).recovery_timeout));
        // Its ranks' KV state is gone: every sequence that reached the shards ends now.
        const auto failure = unavailable(name + " was lost (" + reason + ")");
        SamplerBatch batch;
        const auto started = state.started;
        for (const auto id : started) end_with_error(self, id, failure, batch);
        for (const auto& [ids, step_failure] : o.failed_steps) {
          for (const auto id : ids) end_with_error(self, id, failure, batch);
        }
        o.failed_steps.clear();
        send_to_sampler(self, std::move(batch));
        publish_health(self);
      },
      [=](mn_back_atom) {
        self->state.outage.missing.clear();
        logger().info("every lost worker is back");
        publish_health(self);
        on_idle(self);
      },
      [=](mn_settle_atom) {
        // No lost worker was named: the failed steps' requests end with their own error.
        auto& o = self->state.outage;
        o.settling = false;
        SamplerBatch batch;
        std::string cause;
        for (const auto& [ids, failure] : o.failed_steps) {
          for (const auto id : ids) end_with_error(self, id, unavailable(failure.message), batch);
          if (cause.empty()) cause = failure.message;
        }
        o.failed_steps.clear();
        // The re-formed group starts with no per-sequence state on any rank (sampling streams,
        // block tables), so a started sequence that was not in the failed step cannot go on.
        const auto started = self->state.started;
        for (const auto id : started) {
          end_with_error(self, id, unavailable("the group re-forms after a failed step: " + cause),
                         batch);
        }
        send_to_sampler(self, std::move(batch));
        on_idle(self);
      },
      [=](regroup_atom) { on_idle(self); },  // retry after a failed attempt
      [=](mn_expire_atom, std::uint64_t id, std::uint64_t epoch) {
        auto& state = self->state;
        if (!state.config.recovery || !state.outage.broken || epoch != state.outage.epoch ||
            state.started.count(id) != 0) {
          return;
        }
        SamplerBatch batch;
        end_with_error(self, id,
                       unavailable(outage_text(state) + "; gave up after waiting " +
                                   seconds_text(recovery(self).recovery_timeout) +
                                   " (the recovery timeout)"),
                       batch);
        send_to_sampler(self, std::move(batch));
      },
  };
}

}  // namespace tessera::actors
