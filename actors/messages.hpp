#pragma once
// Every message the actors exchange, as plain data with a CAF type ID and an `inspect` overload,
// so a plan crosses a process boundary unchanged (each type round-trips through CAF's binary
// serializer in tests/actors/messages_test.cpp). Only RequestSinkPtr is local-only: it carries
// the client's callbacks and must never be sent to a remote actor.
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>
#include <caf/type_id.hpp>
#include <string>

#include "actors/message_data.hpp"

namespace tessera::actors {

// -- inspect overloads (CAF 0.17 style) ------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, GenerateRequest& x) {
  return f(caf::meta::type_name("GenerateRequest"), x.prompt, x.sampling, x.max_tokens, x.stop,
           x.ignore_eos, x.skip_special_tokens, x.stop_token_ids, x.include_stop_str_in_output);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, SequenceStep& x) {
  return f(caf::meta::type_name("SequenceStep"), x.seq_id, x.tokens, x.first_position,
           x.block_table, x.needs_token, x.starts, x.params, x.prompt, x.block_offset);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, StepPlan& x) {
  return f(caf::meta::type_name("StepPlan"), x.step, x.sequences, x.released);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, GeneratedToken& x) {
  return f(caf::meta::type_name("GeneratedToken"), x.seq_id, x.id, x.logprob, x.top_ids,
           x.top_logprobs);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, StepResult& x) {
  return f(caf::meta::type_name("StepResult"), x.step, x.tokens);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ShardAck& x) {
  return f(caf::meta::type_name("ShardAck"), x.step, x.rank, x.healthy, x.failure);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ShardReady& x) {
  return f(caf::meta::type_name("ShardReady"), x.rank, x.kv_blocks, x.kv_capacity_blocks,
           x.kv_bytes_per_block, x.device, x.device_free_bytes, x.device_total_bytes);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, FinishedSequence& x) {
  return f(caf::meta::type_name("FinishedSequence"), x.seq_id, x.reason, x.failure);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, SamplerBatch& x) {
  return f(caf::meta::type_name("SamplerBatch"), x.tokens, x.finished);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, RequestStart& x) {
  return f(caf::meta::type_name("RequestStart"), x.id, x.prompt_tokens, x.stop,
           x.skip_special_tokens, x.logprobs, x.stop_token_ids, x.include_stop_str_in_output);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, EngineStats& x) {
  return f(caf::meta::type_name("EngineStats"), x.total_blocks, x.free_blocks, x.running,
           x.waiting, x.preemptions, x.steps);
}

}  // namespace tessera::actors

namespace tessera {

// A failure crosses nodes with its category as a number, checked when it arrives: a peer of
// another build must not smuggle in a value the switches over ErrorCategory do not know.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Failure& x) {
  auto category = static_cast<std::int32_t>(x.category);
  auto restore_category = caf::meta::load_callback([&]() -> caf::error {
    if (category < 0 || category > static_cast<std::int32_t>(ErrorCategory::internal)) {
      return caf::make_error(caf::sec::invalid_argument,
                             "Failure: unknown error category " + std::to_string(category));
    }
    x.category = static_cast<ErrorCategory>(category);
    return caf::error{};
  });
  return f(caf::meta::type_name("Failure"), category, x.field, x.message, restore_category);
}

}  // namespace tessera

namespace tessera::runtime {

// Found by ADL, so it lives in SamplingParams' namespace (but in actors/: runtime knows no CAF).
// The optional seed travels as a flag and a value, put back together after loading.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, SamplingParams& x) {
  bool has_seed = x.seed.has_value();
  std::uint64_t seed = x.seed.value_or(0);
  auto restore_seed = caf::meta::load_callback([&]() -> caf::error {
    if (has_seed) {
      x.seed = seed;
    } else {
      x.seed.reset();
    }
    return caf::error{};
  });
  return f(caf::meta::type_name("SamplingParams"), x.temperature, x.top_k, x.top_p, x.min_p,
           x.repetition_penalty, x.presence_penalty, x.frequency_penalty, has_seed, seed,
           x.logprobs, x.top_logprobs, restore_seed);
}

}  // namespace tessera::runtime

CAF_BEGIN_TYPE_ID_BLOCK(tessera_actors, caf::first_custom_type_id)
CAF_ADD_TYPE_ID(tessera_actors, (tessera::runtime::SamplingParams))
CAF_ADD_TYPE_ID(tessera_actors, (tessera::actors::GenerateRequest))
CAF_ADD_TYPE_ID(tessera_actors, (tessera::actors::SequenceStep))
CAF_ADD_TYPE_ID(tessera_actors, (tessera::actors::StepPlan))
CAF_ADD_TYPE_ID(tessera_actors, (tessera::actors::GeneratedToken))
CAF_ADD_TYPE_ID(tessera_actors, (tessera::actors::StepResult))
CAF_ADD_TYPE_ID(tessera_actors, (tessera::actors::ShardAck))
CAF_ADD_TYPE_ID(tessera_actors, (tessera::actors::ShardReady))
CAF_ADD_TYPE_ID(tessera_actors, (tessera::actors::FinishedSequence))
CAF_ADD_TYPE_ID(tessera_actors, (tessera::actors::SamplerBatch))
CAF_ADD_TYPE_ID(tessera_actors, (tessera::actors::RequestStart))
CAF_ADD_TYPE_ID(tessera_actors, (tessera::actors::EngineStats))
CAF_ADD_TYPE_ID(tessera_actors, (tessera::actors::RequestSinkPtr))
CAF_ADD_TYPE_ID(tessera_actors, (tessera::Failure))
// 0.17 atoms are compile-time constants (at most 10 characters) and need no ID.
CAF_ADD_ATOM(tessera_actors, tessera::actors, init_atom, "init")
CAF_ADD_ATOM(tessera_actors, tessera::actors, allocate_atom, "allocate")
CAF_ADD_ATOM(tessera_actors, tessera::actors, submit_atom, "submit")
CAF_ADD_ATOM(tessera_actors, tessera::actors, start_atom, "start")
CAF_ADD_ATOM(tessera_actors, tessera::actors, cancel_atom, "cancel")
CAF_ADD_ATOM(tessera_actors, tessera::actors, finished_atom, "finished")
CAF_ADD_ATOM(tessera_actors, tessera::actors, stats_atom, "stats")
CAF_ADD_ATOM(tessera_actors, tessera::actors, shutdown_atom, "shutdown")
// Cluster loss and recovery (scheduler_actor.hpp, node_link.hpp, shard_actor.hpp).
CAF_ADD_ATOM(tessera_actors, tessera::actors, regroup_atom, "regroup")
CAF_ADD_ATOM(tessera_actors, tessera::actors, mn_watch_atom, "mn_watch")
CAF_ADD_ATOM(tessera_actors, tessera::actors, mn_lost_atom, "mn_lost")
CAF_ADD_ATOM(tessera_actors, tessera::actors, mn_back_atom, "mn_back")
CAF_ADD_ATOM(tessera_actors, tessera::actors, mn_rebind_atom, "mn_rebind")
CAF_ADD_ATOM(tessera_actors, tessera::actors, mn_expire_atom, "mn_expire")
CAF_ADD_ATOM(tessera_actors, tessera::actors, mn_settle_atom, "mn_settle")
// The scheduler's step timeout (step_watch.hpp).
CAF_ADD_ATOM(tessera_actors, tessera::actors, step_watch_atom, "step_watch")
CAF_END_TYPE_ID_BLOCK(tessera_actors)

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tessera::actors::RequestSinkPtr)

namespace tessera::actors {

// Registers every serializable message type with a CAF config (0.17 needs names for types
// that cross the network); call once per actor_system_config.
void register_message_types(caf::actor_system_config& cfg);

// The actor system settings tessera runs with: its message types, and the "sharing" scheduler.
// Only a few actors share the worker pool (scheduler, sampler; shards have threads of their
// own), so one queue with condition-variable wakeups beats work stealing, whose idle workers
// poll with 50 µs sleeps. bench/step_overhead on a 2-core VM, medians of several runs: 94-103
// -> 44-58 µs per step at 1 sequence, 123-138 -> 56-112 µs at 64.
void configure_actor_system(caf::actor_system_config& cfg);

}  // namespace tessera::actors
