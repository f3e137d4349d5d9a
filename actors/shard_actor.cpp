#include "actors/shard_actor.hpp"

#include <caf/all.hpp>
#include <span>
#include <unordered_map>

#include "actors/messages.hpp"
#include "runtime/backend/cpu_backend.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/comm/gloo_communicator.hpp"
#include "runtime/model/transformer.hpp"
#include "runtime/sampling/token_sampler.hpp"

namespace tessera::actors {
namespace {

struct ShardState {
  ShardConfig config;
  runtime::CpuBackend backend;
  std::unique_ptr<runtime::Communicator> communicator;
  std::unique_ptr<runtime::Transformer> model;
  runtime::KvCache cache;
  std::unordered_map<std::uint64_t, runtime::SamplingState> sampling;  // rank 0 only
  std::vector<float> host_logits;
  static inline const char* name = "tessera.shard";
};

using ShardActor = caf::stateful_actor<ShardState>;

// splitmix64: spreads sequence ids so that neighbouring requests get unrelated streams.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

caf::error failure(const ShardState& state, const std::string& what) {
  return caf::make_error(caf::sec::runtime_error,
                         "rank " + std::to_string(state.config.rank) + ": " + what);
}

void load(ShardState& state) {
  const auto& config = state.config;
  if (config.world_size > 1) {
    runtime::GlooOptions options;
    options.timeout = config.collective_timeout;
    state.communicator = std::make_unique<runtime::GlooCommunicator>(
        config.store, config.rank, config.world_size, options);
  } else {
    state.communicator = std::make_unique<runtime::SingleRankCommunicator>();
  }
  const auto model_config = runtime::ModelConfig::load(config.model_dir);
  const auto plan = runtime::ShardPlan::make(model_config, config.rank, config.world_size);
  const auto checkpoint = runtime::Checkpoint::open(config.model_dir);
  state.model = std::make_unique<runtime::Transformer>(model_config, plan, checkpoint,
                                                       state.backend, *state.communicator);
  state.cache = state.model->allocate_cache(config.kv_blocks, config.block_size);
}

runtime::ForwardBatch make_batch(const StepPlan& plan, std::int64_t block_size) {
  runtime::ForwardBatch batch;
  for (const auto& seq : plan.sequences) {
    batch.sequences.push_back({static_cast<std::int64_t>(batch.token_ids.size()),
                               static_cast<std::int64_t>(seq.tokens.size()), seq.block_table});
    for (std::size_t i = 0; i < seq.tokens.size(); ++i) {
      const std::int64_t position = seq.first_position + static_cast<std::int64_t>(i);
      batch.token_ids.push_back(seq.tokens[i]);
      batch.positions.push_back(static_cast<std::int32_t>(position));
      batch.slots.push_back(
          static_cast<std::int64_t>(seq.block_table.at(static_cast<std::size_t>(position / block_size))) *
              block_size +
          position % block_size);
    }
  }
  return batch;
}

// Rank 0: one token per sequence that needs one, from its row of the gathered logits.
StepResult sample(ShardState& state, const StepPlan& plan, const runtime::Tensor& logits) {
  StepResult result;
  result.step = plan.step;
  state.host_logits.resize(static_cast<std::size_t>(logits.numel()));
  state.backend.to_host(logits, state.host_logits);
  const auto vocab = static_cast<std::size_t>(logits.cols());
  for (std::size_t i = 0; i < plan.sequences.size(); ++i) {
    const auto& seq = plan.sequences[i];
    if (!seq.needs_token) continue;
    auto it = state.sampling.find(seq.seq_id);
    if (it == state.sampling.end()) {  // defensive: a plan that never said `starts`
      it = state.sampling
               .emplace(seq.seq_id, runtime::SamplingState::start(
                                        seq.prompt, seq.params,
                                        mix(state.config.seed_base ^ seq.seq_id)))
               .first;
    }
    const std::span<const float> row(state.host_logits.data() + i * vocab, vocab);
    const auto sampled = runtime::sample_token(row, seq.params, it->second);
    GeneratedToken token{seq.seq_id, sampled.id, sampled.logprob, {}, {}};
    for (const auto& [id, logprob] : sampled.top_logprobs) {
      token.top_ids.push_back(id);
      token.top_logprobs.push_back(logprob);
    }
    result.tokens.push_back(std::move(token));
  }
  return result;
}

caf::behavior shard(ShardActor* self, ShardConfig config) {
  self->state.config = std::move(config);
  return {
      [=](init_atom) -> caf::result<ShardReady> {
        auto& state = self->state;
        try {
          load(state);
        } catch (const std::exception& e) {
          return failure(state, e.what());
        }
        return ShardReady{state.config.rank, state.config.kv_blocks};
      },
      [=](StepPlan& plan) -> caf::result<caf::message> {
        auto& state = self->state;
        const bool rank0 = state.config.rank == 0;
        try {
          if (!state.model) throw std::runtime_error("the shard was never initialised");
          for (const auto id : plan.released) state.sampling.erase(id);
          runtime::Tensor logits;
          if (!plan.sequences.empty()) {
            if (rank0) {
              for (const auto& seq : plan.sequences) {
                if (!seq.starts) continue;
                state.sampling.insert_or_assign(
                    seq.seq_id, runtime::SamplingState::start(
                                    seq.prompt, seq.params, mix(state.config.seed_base ^ seq.seq_id)));
              }
            }
            logits = state.model->forward(make_batch(plan, state.config.block_size), state.cache);
          }
          if (rank0) {
            if (plan.sequences.empty()) return caf::make_message(StepResult{plan.step, {}});
            return caf::make_message(sample(state, plan, logits));
          }
          return caf::make_message(ShardAck{plan.step, state.config.rank, true, {}});
        } catch (const std::exception& e) {
          return failure(state, std::string("step ") + std::to_string(plan.step) + ": " + e.what());
        }
      },
  };
}

}  // namespace

caf::actor spawn_shard(caf::actor_system& system, ShardConfig config) {
  return system.spawn<caf::detached>(shard, std::move(config));
}

}  // namespace tessera::actors
