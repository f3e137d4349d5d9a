#include "actors/shard_actor.hpp"

#include <caf/all.hpp>
#include <algorithm>
#include <cmath>
#include <span>
#include <unordered_map>

#include "actors/block_tables.hpp"
#include "actors/group_communicator.hpp"
#include "actors/failure_message.hpp"
#include "actors/messages.hpp"
#include "runtime/backend/cpu_backend.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/comm/gloo_communicator.hpp"
#include "runtime/core/error.hpp"
#include "runtime/model/transformer.hpp"
#include "runtime/sampling/token_sampler.hpp"
#if TESSERA_HAS_CUDA
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/backend/cuda_device.hpp"
#include "runtime/comm/nccl_communicator.hpp"
#endif

namespace tessera::actors {
namespace {

// Members are destroyed in reverse order: the cache and weights before the communicator, and
// that before the backend it waits on.
struct ShardState {
  ShardConfig config;
  std::unique_ptr<runtime::Backend> backend;
  std::unique_ptr<runtime::Communicator> communicator;
  // The model's view of `communicator`, which a regroup replaces under it (new store prefix).
  GroupCommunicator group{communicator};
  std::string store_prefix = "tessera";
  std::unique_ptr<runtime::Transformer> model;
  runtime::KvCache cache;
  ShardReady ready;  // what init reported; allocate fills in kv_blocks
  bool driver = false;  // the layout's driver rank: it samples and answers with StepResult
  std::unordered_map<std::uint64_t, runtime::SamplingState> sampling;  // the driver's only
  BlockTables tables;            // every live sequence's, from the plans' deltas
  runtime::ForwardBatch batch;   // rebuilt each step, its vectors' capacity kept
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

// What went wrong, as the exception said it (its category and field kept), naming the rank and
// `doing` what: "rank 2: step 7: …".
caf::error failure(const ShardState& state, const std::exception& e, const std::string& doing = {}) {
  return to_caf_error(
      Failure::of(e).within("rank " + std::to_string(state.config.rank) + ": " + doing));
}

// Joins the group under state.store_prefix (the cluster picks a new one each time it re-forms,
// so no key of an earlier group is ever read), leaving the current group first: after a lost
// worker its peers may be gone. The backend must exist (NCCL runs on its stream). The layout has
// one stage (make_shard_configs), so the whole group is the stage the model runs over.
void join_group(ShardState& state) {
  const auto& config = state.config;
  const int world_size = config.layout.world_size();
  state.communicator.reset();
  if (world_size == 1) {
    state.communicator = std::make_unique<runtime::SingleRankCommunicator>();
    return;
  }
#if TESSERA_HAS_CUDA
  if (config.device == DeviceKind::cuda) {
    runtime::NcclOptions options;
    options.timeout = config.collective_timeout;
    options.prefix = state.store_prefix;
    state.communicator = std::make_unique<runtime::NcclCommunicator>(
        static_cast<runtime::CudaBackend&>(*state.backend), config.cuda_device, config.store,
        config.rank, world_size, options);
    return;
  }
#endif
  runtime::GlooOptions options;
  options.timeout = config.collective_timeout;
  options.prefix = state.store_prefix;
  state.communicator =
      std::make_unique<runtime::GlooCommunicator>(config.store, config.rank, world_size, options);
}

// The rank computes on its CUDA device and joins its group through NCCL.
void open_cuda(ShardState& state) {
  const auto& config = state.config;
#if TESSERA_HAS_CUDA
  const int device = config.cuda_device;
  state.backend = std::make_unique<runtime::CudaBackend>(device);
  join_group(state);
  state.ready.device =
      "cuda:" + std::to_string(device) + " (" + runtime::cuda_device_name(device) + ")";
#else
  (void)config;  // the engine refuses cuda in such a build; this is the last line of defence
  throw Error(ErrorCategory::unsupported,
              "this tessera was built without CUDA (CMake option TESSERA_CUDA)");
#endif
}

void open_cpu(ShardState& state) {
  state.backend = std::make_unique<runtime::CpuBackend>();
  join_group(state);
  state.ready.device = "cpu";
}

// One block of every layer's keys and values, measured on a one-block cache so that it follows
// whatever dtype and layout the backend keeps the cache in.
std::int64_t kv_bytes_per_block(runtime::Transformer& model, std::int64_t block_size) {
  const runtime::KvCache probe = model.allocate_cache(1, block_size);
  std::int64_t bytes = 0;
  for (const auto& layer : probe.layers) {
    for (const runtime::Tensor* t : {&layer.k, &layer.v}) {
      bytes += t->numel() * static_cast<std::int64_t>(runtime::dtype_size(t->dtype()));
    }
  }
  return bytes;
}

// How many blocks this rank could hold: on a GPU what is free now, after the weights, less the
// share of the device that gpu_memory_utilization keeps back (for activations and scratch).
void measure_kv_capacity(ShardState& state) {
  auto& ready = state.ready;
  ready.kv_bytes_per_block = std::max<std::int64_t>(
      1, kv_bytes_per_block(*state.model, state.config.block_size));
  std::int64_t budget = state.config.kv_memory_bytes;
#if TESSERA_HAS_CUDA
  if (state.config.device == DeviceKind::cuda) {
    const auto memory = runtime::cuda_device_memory(state.config.cuda_device);
    ready.device_free_bytes = memory.free_bytes;
    ready.device_total_bytes = memory.total_bytes;
    const double kept_back =
        (1.0 - state.config.gpu_memory_utilization) * static_cast<double>(memory.total_bytes);
    budget = static_cast<std::int64_t>(
        std::max(0.0, std::floor(static_cast<double>(memory.free_bytes) - kept_back)));
  }
#endif
  ready.kv_capacity_blocks = budget / ready.kv_bytes_per_block;
}

void load(ShardState& state) {
  const auto& config = state.config;
  state.ready = ShardReady{};
  state.ready.rank = config.rank;
  if (config.device == DeviceKind::cuda) {
    open_cuda(state);
  } else {
    open_cpu(state);
  }
  const auto model_config = runtime::ModelConfig::load(config.model_dir);
  const auto plan = runtime::ShardPlan::make(model_config, config.layout, config.rank);
  const auto checkpoint = runtime::Checkpoint::open(config.model_dir);
  state.model = std::make_unique<runtime::Transformer>(model_config, plan, checkpoint,
                                                       *state.backend, state.group);
  measure_kv_capacity(state);
}

// The driver: one token per sequence that needs one, from its row of the gathered logits, sampled
// where the logits are (the backend's sample_rows; the states here stay authoritative).
StepResult sample(ShardState& state, const StepPlan& plan, const runtime::Tensor& logits) {
  StepResult result;
  result.step = plan.step;
  std::vector<runtime::RowSample> rows;
  std::vector<std::uint64_t> seq_ids;
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
    // Map nodes do not move, so the pointer stays valid while later rows are added.
    rows.push_back({static_cast<std::int64_t>(i), &seq.params, &it->second});
    seq_ids.push_back(seq.seq_id);
  }
  std::vector<runtime::SampledToken> sampled(rows.size());
  state.backend->sample_rows(logits, rows, sampled);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    GeneratedToken token{seq_ids[k], sampled[k].id, sampled[k].logprob, {}, {}};
    for (const auto& [id, logprob] : sampled[k].top_logprobs) {
      token.top_ids.push_back(id);
      token.top_logprobs.push_back(logprob);
    }
    result.tokens.push_back(std::move(token));
  }
  return result;
}

caf::behavior shard(ShardActor* self, ShardConfig config) {
  self->state.config = std::move(config);
  self->state.driver = self->state.config.layout.is_driver(self->state.config.rank);
  return {
      [=](init_atom) -> caf::result<ShardReady> {
        auto& state = self->state;
        try {
          load(state);
        } catch (const std::exception& e) {
          return failure(state, e);
        }
        return state.ready;
      },
      [=](allocate_atom, std::int64_t blocks) -> caf::result<ShardReady> {
        auto& state = self->state;
        try {
          if (!state.model) throw Error(ErrorCategory::internal, "the shard was never initialised");
          state.cache = runtime::KvCache{};  // a second allocate replaces the pool, not adds one
          state.cache = state.model->allocate_cache(blocks, state.config.block_size);
        } catch (const std::exception& e) {
          return failure(state, e, "allocating " + std::to_string(blocks) + " KV blocks: ");
        }
        state.ready.kv_blocks = blocks;
        return state.ready;
      },
      [=](regroup_atom, const std::string& prefix) -> caf::result<ShardReady> {
        // The cluster re-forms: a rank that never loaded (a restarted worker) loads now; the
        // others keep their weights and KV pool and only join the new group.
        auto& state = self->state;
        state.store_prefix = prefix;
        state.sampling.clear();  // every sequence of the old group has ended
        state.tables.clear();    // and the scheduler sends whole tables to a new group
        try {
          if (!state.model) {
            load(state);
          } else {
            join_group(state);
            state.model->regroup();  // its tensor-parallel subgroup belonged to the old group
          }
        } catch (const std::exception& e) {
          state.communicator.reset();
          return failure(state, e, "re-forming the group under '" + prefix + "': ");
        }
        return state.ready;
      },
      // const: a non-const reference would make CAF copy the plan that every rank shares.
      [=](const StepPlan& plan) -> caf::result<caf::message> {
        auto& state = self->state;
        try {
          if (!state.model || state.cache.layers.empty()) {
            throw Error(ErrorCategory::internal,
                        "the shard has no KV pool yet (it needs init, then allocate)");
          }
          for (const auto id : plan.released) state.sampling.erase(id);
          state.tables.apply(plan);
          runtime::Tensor logits;
          if (!plan.sequences.empty()) {
            if (state.driver) {
              for (const auto& seq : plan.sequences) {
                if (!seq.starts) continue;
                state.sampling.insert_or_assign(
                    seq.seq_id,
                    runtime::SamplingState::start(seq.prompt, seq.params,
                                                  mix(state.config.seed_base ^ seq.seq_id)));
              }
            }
            make_batch(plan, state.tables, state.config.block_size, state.batch);
            logits = state.model->forward(state.batch, state.cache);
          }
          if (state.driver) {
            if (plan.sequences.empty()) return caf::make_message(StepResult{plan.step, {}});
            return caf::make_message(sample(state, plan, logits));
          }
          return caf::make_message(ShardAck{plan.step, state.config.rank, true, {}});
        } catch (const std::exception& e) {
          return failure(state, e, "step " + std::to_string(plan.step) + ": ");
        }
      },
  };
}

}  // namespace

caf::actor spawn_shard(caf::actor_system& system, ShardConfig config) {
  return system.spawn<caf::detached>(shard, std::move(config));
}

}  // namespace tessera::actors
