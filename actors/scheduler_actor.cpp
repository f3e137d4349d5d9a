#include "actors/scheduler_actor.hpp"

#include <caf/all.hpp>
#include <optional>

#include "actors/messages.hpp"

namespace tessera::actors {
namespace {

struct SchedulerState {
  SchedulerConfig config;
  std::optional<StepPlanner> planner;  // built from the config when the actor starts
  bool in_flight = false;
  bool stopping = false;
  std::int64_t steps = 0;
  static inline const char* name = "tessera.scheduler";
};

using SchedulerActor = caf::stateful_actor<SchedulerState>;

void kick(SchedulerActor* self);

void send_to_sampler(SchedulerActor* self, SamplerBatch batch) {
  if (batch.tokens.empty() && batch.finished.empty()) return;
  self->send(self->state.config.sampler, std::move(batch));
}

// Ends the still-known sequences of a failed step with an error event.
void fail_step(SchedulerActor* self, const std::vector<std::uint64_t>& ids,
               const caf::error& error) {
  auto& planner = *self->state.planner;
  SamplerBatch batch;
  const auto message = self->system().render(error);
  for (const auto id : ids) {
    if (planner.remove(id)) batch.finished.push_back({id, "error", message});
  }
  send_to_sampler(self, std::move(batch));
}

void on_result(SchedulerActor* self, const StepResult& result) {
  auto& state = self->state;
  state.in_flight = false;
  ++state.steps;
  auto outcome = state.planner->on_result(result);
  send_to_sampler(self, {std::move(outcome.accepted), std::move(outcome.finished)});
  kick(self);
}

void dispatch(SchedulerActor* self, StepPlan plan) {
  auto& state = self->state;
  state.in_flight = true;
  std::vector<std::uint64_t> ids;
  ids.reserve(plan.sequences.size());
  for (const auto& seq : plan.sequences) ids.push_back(seq.seq_id);
  // One message for every rank: CAF shares its content copy-on-write.
  const auto message = caf::make_message(std::move(plan));
  const auto& shards = state.config.shards;
  for (std::size_t rank = 1; rank < shards.size(); ++rank) {
    self->request(shards[rank], state.config.step_timeout, message)
        .then(
            [=](const ShardAck& ack) {
              if (!ack.healthy) {
                fail_step(self, ids, caf::make_error(caf::sec::runtime_error, ack.error));
              }
            },
            [=](caf::error& error) { fail_step(self, ids, error); });
  }
  self->request(shards.front(), state.config.step_timeout, message)
      .then([=](const StepResult& result) { on_result(self, result); },
            [=](caf::error& error) {
              self->state.in_flight = false;
              fail_step(self, ids, error);
              kick(self);
            });
}

void kick(SchedulerActor* self) {
  auto& state = self->state;
  if (state.in_flight || state.stopping || !state.planner->has_work()) return;
  auto plan = state.planner->plan();
  if (plan.sequences.empty() && plan.released.empty()) return;
  dispatch(self, std::move(plan));
}

RequestState to_state(std::uint64_t id, GenerateRequest& request) {
  RequestState seq;
  seq.id = id;
  seq.prompt = std::move(request.prompt);
  seq.params = request.sampling;
  seq.max_tokens = request.max_tokens;
  seq.ignore_eos = request.ignore_eos;
  return seq;
}

caf::behavior scheduler(SchedulerActor* self, SchedulerConfig config) {
  self->state.planner.emplace(config.planner);
  self->state.config = std::move(config);
  return {
      [=](submit_atom, std::uint64_t id, GenerateRequest& request, RequestSinkPtr& sink) {
        auto& state = self->state;
        RequestStart start{id, static_cast<std::int64_t>(request.prompt.size()), request.stop,
                           request.skip_special_tokens, request.sampling.logprobs};
        self->send(state.config.sampler, start_atom::value, std::move(start), sink);
        if (state.stopping) {
          send_to_sampler(self, {{}, {{id, "cancelled", "the engine is shutting down"}}});
          return;
        }
        try {
          state.planner->submit(to_state(id, request));
        } catch (const std::exception& e) {
          send_to_sampler(self, {{}, {{id, "error", e.what()}}});
          return;
        }
        kick(self);
      },
      [=](cancel_atom, std::uint64_t id) {
        if (self->state.planner->remove(id)) {
          send_to_sampler(self, {{}, {{id, "cancelled", {}}}});
        }
        kick(self);
      },
      [=](finished_atom, std::uint64_t id) {
        // The sampler found a stop string and already sent the final event.
        self->state.planner->remove(id);
        kick(self);
      },
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
          batch.finished.push_back({id, "cancelled", "the engine is shutting down"});
        }
        send_to_sampler(self, std::move(batch));
        return true;
      },
  };
}

}  // namespace

caf::actor spawn_scheduler(caf::actor_system& system, SchedulerConfig config) {
  return system.spawn(scheduler, std::move(config));
}

}  // namespace tessera::actors
