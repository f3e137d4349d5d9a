#include "actors/scheduler_actor.hpp"

#include <caf/all.hpp>

#include "actors/failure_message.hpp"
#include "actors/messages.hpp"
#include "actors/scheduler_state.hpp"

namespace tessera::actors {

void send_to_sampler(SchedulerActor* self, SamplerBatch batch) {
  if (batch.tokens.empty() && batch.finished.empty()) return;
  self->send(self->state.config.sampler, std::move(batch));
}

bool end_with_error(SchedulerActor* self, std::uint64_t id, const Failure& failure,
                    SamplerBatch& batch) {
  self->state.started.erase(id);
  if (!self->state.planner->remove(id)) return false;
  batch.finished.push_back({id, "error", failure});
  return true;
}

namespace {

// Ends the still-known sequences of a failed step with an error event; on a cluster head the
// recovery decides when, and with which words.
void fail_step(SchedulerActor* self, const std::vector<std::uint64_t>& ids,
               const Failure& failure) {
  if (self->state.config.recovery) {
    on_step_failed(self, ids, failure);
    return;
  }
  SamplerBatch batch;
  for (const auto id : ids) end_with_error(self, id, failure, batch);
  send_to_sampler(self, std::move(batch));
}

Failure shutting_down() {
  return {ErrorCategory::unavailable, {}, "the engine is shutting down"};
}

void step_over(SchedulerActor* self) {
  self->state.in_flight = false;
  on_idle(self);
  kick(self);
}

void on_result(SchedulerActor* self, const StepResult& result) {
  auto& state = self->state;
  ++state.steps;
  auto outcome = state.planner->on_result(result);
  for (const auto& done : outcome.finished) state.started.erase(done.seq_id);
  send_to_sampler(self, {std::move(outcome.accepted), std::move(outcome.finished)});
  step_over(self);
}

void dispatch(SchedulerActor* self, StepPlan plan) {
  auto& state = self->state;
  state.in_flight = true;
  auto step_ids = std::make_shared<std::vector<std::uint64_t>>();
  step_ids->reserve(plan.sequences.size());
  for (const auto& seq : plan.sequences) {
    step_ids->push_back(seq.seq_id);
    state.started.insert(seq.seq_id);
  }
  const StepWatch::Ids ids = std::move(step_ids);  // shared by the handlers below, not copied
  const auto step = plan.step;
  if (const auto delay = state.watch.started(step, ids, StepWatch::Clock::now())) {
    self->delayed_send(self, *delay, step_watch_atom::value);
  }
  // One message for every rank: CAF shares its content copy-on-write. No timeout per request:
  // the watch times the step (a rank that hangs holds the driver in the step's collectives).
  const auto message = caf::make_message(std::move(plan));
  const auto& shards = state.config.shards;
  const std::size_t driver = state.config.driver;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    if (i == driver) continue;
    self->request(shards[i], caf::infinite, message)
        .then(
            [=](const ShardAck& ack) {
              if (!ack.healthy) {
                fail_step(self, *ids, ack.failure);
              }
            },
            [=](caf::error& error) { fail_step(self, *ids, failure_of(self->system(), error)); });
  }
  self->request(shards[driver], caf::infinite, message)
      .then(
          [=](const StepResult& result) {
            if (self->state.watch.end(step)) on_result(self, result);
          },
          [=](caf::error& error) {
            if (!self->state.watch.end(step)) return;  // the step timeout failed it already
            fail_step(self, *ids, failure_of(self->system(), error));
            step_over(self);
          });
}

// The step timer fired: fail the step in flight if it has run for step_timeout.
void on_step_watch(SchedulerActor* self) {
  auto fired = self->state.watch.fired(StepWatch::Clock::now());
  if (fired.rearm) self->delayed_send(self, *fired.rearm, step_watch_atom::value);
  if (!fired.overrun) return;
  const auto timeout = self->state.config.step_timeout;
  fail_step(self, *fired.overrun->ids,
            {ErrorCategory::internal, {},
             "step " + std::to_string(fired.overrun->step) + " took longer than " +
                 std::to_string(timeout.count()) + " ms (the step timeout)"});
  step_over(self);
}

RequestState to_state(std::uint64_t id, GenerateRequest& request) {
  RequestState seq;
  seq.id = id;
  seq.prompt = std::move(request.prompt);
  seq.params = request.sampling;
  seq.max_tokens = request.max_tokens;
  seq.ignore_eos = request.ignore_eos;
  seq.stop_token_ids = request.stop_token_ids;
  return seq;
}

caf::behavior scheduler(SchedulerActor* self, SchedulerConfig config) {
  self->state.planner.emplace(config.planner);
  self->state.watch = StepWatch(config.step_timeout);
  self->state.config = std::move(config);
  publish_health(self);
  caf::message_handler own{
      [=](submit_atom, std::uint64_t id, GenerateRequest& request, RequestSinkPtr& sink) {
        auto& state = self->state;
        RequestStart start{id, static_cast<std::int64_t>(request.prompt.size()), request.stop,
                           request.skip_special_tokens, request.sampling.logprobs,
                           request.stop_token_ids, request.include_stop_str_in_output};
        self->send(state.config.sampler, start_atom::value, std::move(start), sink);
        if (state.stopping) {
          send_to_sampler(self, {{}, {{id, "cancelled", shutting_down()}}});
          return;
        }
        try {
          state.planner->submit(to_state(id, request));
        } catch (const std::exception& e) {
          send_to_sampler(self, {{}, {{id, "error", Failure::of(e)}}});
          return;
        }
        on_queued(self, id);
        kick(self);
      },
      [=](cancel_atom, std::uint64_t id) {
        self->state.started.erase(id);
        if (self->state.planner->remove(id)) {
          send_to_sampler(self, {{}, {{id, "cancelled", {}}}});
        }
        kick(self);
      },
      [=](finished_atom, std::uint64_t id) {
        // The sampler found a stop string and already sent the final event.
        self->state.started.erase(id);
        self->state.planner->remove(id);
        kick(self);
      },
      [=](step_watch_atom) { on_step_watch(self); },
      [=](stats_atom) {
        const auto& planner = *self->state.planner;
        return EngineStats{planner.total_blocks(), planner.free_blocks(), planner.running(),
                           planner.waiting(),      planner.preemptions(), self->state.steps};
      },
      [=](shutdown_atom) {
        auto& state = self->state;
        state.stopping = true;
        SamplerBatch batch;
        for (const auto id : state.planner->ids()) {
          state.planner->remove(id);
          batch.finished.push_back({id, "cancelled", shutting_down()});
        }
        state.started.clear();
        send_to_sampler(self, std::move(batch));
        return true;
      },
  };
  return own.or_else(recovery_handlers(self));
}

}  // namespace

void kick(SchedulerActor* self) {
  auto& state = self->state;
  if (state.in_flight || state.stopping || recovering(self) || !state.planner->has_work()) return;
  // Ranks that joined a new group hold no block tables: plans then carry whole ones.
  state.planner->set_shard_group(state.outage.generation);
  auto plan = state.planner->plan();
  if (plan.sequences.empty() && plan.released.empty()) return;
  dispatch(self, std::move(plan));
}

caf::actor spawn_scheduler(caf::actor_system& system, SchedulerConfig config) {
  return system.spawn(scheduler, std::move(config));
}

}  // namespace tessera::actors
