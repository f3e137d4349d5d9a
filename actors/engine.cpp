#include "actors/engine.hpp"

#include <caf/all.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <limits>
#include <mutex>
#include <random>
#include <unordered_map>

#include "actors/cluster_head.hpp"
#include "actors/failure_message.hpp"
#include "actors/messages.hpp"
#include "actors/request_sink.hpp"
#include "actors/sampler_actor.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/shard_actor.hpp"
#include "actors/shard_configs.hpp"
#include "runtime/comm/gloo_communicator.hpp"
#include "runtime/core/error.hpp"
#include "runtime/kv/kv_cache.hpp"
#include "runtime/model/shard_plan.hpp"
#include "runtime/parallel/parallel_layout.hpp"
#include "runtime/tokenizer/tokenizer.hpp"
#if TESSERA_HAS_CUDA
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/backend/cuda_device.hpp"
#endif

namespace tessera::actors {

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<runtime::SamplingParams>("tessera.SamplingParams")
      .add_message_type<GenerateRequest>("tessera.GenerateRequest")
      .add_message_type<SequenceStep>("tessera.SequenceStep")
      .add_message_type<StepPlan>("tessera.StepPlan")
      .add_message_type<GeneratedToken>("tessera.GeneratedToken")
      .add_message_type<StepResult>("tessera.StepResult")
      .add_message_type<ShardAck>("tessera.ShardAck")
      .add_message_type<ShardReady>("tessera.ShardReady")
      .add_message_type<FinishedSequence>("tessera.FinishedSequence")
      .add_message_type<SamplerBatch>("tessera.SamplerBatch")
      .add_message_type<RequestStart>("tessera.RequestStart")
      .add_message_type<EngineStats>("tessera.EngineStats")
      // Also the context of the caf::errors that shards and node links fail with.
      .add_message_type<Failure>("tessera.Failure");
}

void configure_actor_system(caf::actor_system_config& cfg) {
  register_message_types(cfg);
  cfg.set("scheduler.policy", caf::atom("sharing"));
}

struct EngineControl {
  std::mutex mutex;
  bool stopped = false;
  caf::actor scheduler;
  std::unordered_map<std::uint64_t, std::weak_ptr<RequestSink>> open;  // for shutdown
  std::atomic<std::uint64_t> next_id{1};

  void cancel(std::uint64_t id) {
    std::lock_guard lock(mutex);
    if (!stopped && scheduler) caf::anon_send(scheduler, cancel_atom::value, id);
  }
};

// -- RequestHandle ---------------------------------------------------------------------------

RequestHandle::RequestHandle(RequestSinkPtr sink, std::shared_ptr<EngineControl> control)
    : sink_(std::move(sink)), control_(std::move(control)) {}
std::uint64_t RequestHandle::id() const { return sink_->id(); }
void RequestHandle::cancel() const {
  if (!sink_->finished()) control_->cancel(sink_->id());
}
FinalEvent RequestHandle::wait() const { return sink_->wait(); }
std::optional<FinalEvent> RequestHandle::wait_for(std::chrono::nanoseconds timeout) const {
  return sink_->wait_for(timeout);
}

// -- Engine ----------------------------------------------------------------------------------

namespace {

Error bad_config(const std::string& field, const std::string& what) {
  return Error(ErrorCategory::invalid_argument, "EngineConfig." + field + " " + what);
}

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

void check_config(const EngineConfig& c) {
  if (c.tensor_parallel < 1) throw bad_config("tensor_parallel", "must be at least 1");
  if (c.expert_parallel < 1) throw bad_config("expert_parallel", "must be at least 1");
  if (!(c.gpu_memory_utilization > 0.0 && c.gpu_memory_utilization <= 1.0)) {
    throw bad_config("gpu_memory_utilization",
                     "must be above 0 and at most 1 (got " +
                         number_text(c.gpu_memory_utilization) + ")");
  }
  if (c.kv_blocks < 0) throw bad_config("kv_blocks", "must be 0 (automatic) or positive");
  if (c.kv_blocks > std::numeric_limits<std::int32_t>::max()) {
    throw bad_config("kv_blocks", "must fit a 32-bit block id");
  }
  if (c.kv_blocks == 0 && c.kv_memory_bytes < 1) {
    throw bad_config("kv_memory_bytes", "must be positive when kv_blocks is 0");
  }
  if (c.block_size < 1) throw bad_config("block_size", "must be at least 1");
  if (c.max_batch_tokens < 1) throw bad_config("max_batch_tokens", "must be at least 1");
  if (c.max_running < 1) throw bad_config("max_running", "must be at least 1");
  if (c.collective_timeout <= std::chrono::milliseconds::zero()) {
    throw bad_config("collective_timeout",
                     "must be positive (got " + std::to_string(c.collective_timeout.count()) +
                         " ms)");
  }
}

std::string bytes_text(std::int64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) value /= 1024.0, ++unit;
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.2f %s", value, units[unit]);
  return text;
}

// The pool every rank allocates. The scheduler hands out one set of block ids for all ranks, so
// they all hold the same count: the smallest any of them has room for, and never more than
// max_running sequences of the model's full context need.
std::int64_t agree_kv_blocks(const EngineConfig& c, const runtime::ModelConfig& model,
                             DeviceKind device, const std::vector<ShardReady>& loaded) {
  const ShardReady& tightest = *std::min_element(
      loaded.begin(), loaded.end(),
      [](const auto& a, const auto& b) { return a.kv_capacity_blocks < b.kv_capacity_blocks; });
  const bool gpu = device == DeviceKind::cuda;
  if (c.kv_blocks > 0) {
    // On the CPU kv_memory_bytes is a budget the caller may override; a GPU's memory is not.
    if (gpu && c.kv_blocks > tightest.kv_capacity_blocks) {
      throw bad_config("kv_blocks", "is " + std::to_string(c.kv_blocks) + ", but rank " +
                                        std::to_string(tightest.rank) + " has room for " +
                                        std::to_string(tightest.kv_capacity_blocks) +
                                        " blocks after its weights");
    }
    return c.kv_blocks;
  }
  std::int64_t blocks = std::min<std::int64_t>(tightest.kv_capacity_blocks,
                                               std::numeric_limits<std::int32_t>::max());
  if (model.max_position_embeddings > 0) {
    blocks = std::min(blocks, c.max_running * runtime::blocks_for_tokens(
                                                  model.max_position_embeddings, c.block_size));
  }
  if (!gpu) return std::max<std::int64_t>(1, blocks);
  if (blocks < 1) {
    throw bad_config(
        "gpu_memory_utilization",
        number_text(c.gpu_memory_utilization) + " leaves no room for one KV block (" +
            bytes_text(tightest.kv_bytes_per_block) + ") on rank " +
            std::to_string(tightest.rank) + " (" + tightest.device + "): after the weights " +
            bytes_text(tightest.device_free_bytes) + " of " +
            bytes_text(tightest.device_total_bytes) +
            " are free; raise it, or spread the model over more GPUs");
  }
  return blocks;
}

// Sends the same message to every shard at once (ranks meet in collectives, so none may wait for
// another's turn) and collects the ShardReady replies in rank order; what failed goes to
// `failures`, one rank after another.
template <class... Ts>
std::vector<ShardReady> ask_every_shard(caf::scoped_actor& self,
                                        const std::vector<caf::actor>& shards,
                                        std::chrono::milliseconds timeout, std::string& failures,
                                        const Ts&... message) {
  using Reply = decltype(self->request(shards.front(), timeout, message...));
  std::vector<Reply> replies;
  for (const auto& shard : shards) replies.push_back(self->request(shard, timeout, message...));
  std::vector<ShardReady> ready(shards.size());
  for (std::size_t i = 0; i < replies.size(); ++i) {
    replies[i].receive([&](const ShardReady& r) { ready[i] = r; },
                       [&](caf::error& error) {
                         failures += (failures.empty() ? "" : "; ") +
                                     failure_of(self->system(), error).message;
                       });
  }
  return ready;
}

}  // namespace

bool cuda_built() { return TESSERA_HAS_CUDA != 0; }

int cuda_device_count() {
#if TESSERA_HAS_CUDA
  return runtime::CudaBackend::device_count();
#else
  return 0;
#endif
}

std::string cuda_device_name(int device) {
#if TESSERA_HAS_CUDA
  return runtime::cuda_device_name(device);
#else
  (void)device;
  throw Error(ErrorCategory::unsupported,
              "this tessera was built without CUDA (CMake option TESSERA_CUDA)");
#endif
}

DeviceKind resolve_device(const EngineConfig& config, const DeviceSettingNames& names) {
  const int ranks = config.local_ranks();
  switch (config.device) {
    case DeviceKind::cpu:
      return DeviceKind::cpu;
    case DeviceKind::automatic:
      return cuda_built() && cuda_device_count() >= ranks ? DeviceKind::cuda : DeviceKind::cpu;
    case DeviceKind::cuda:
      break;
  }
  if (!cuda_built()) {
    throw Error(ErrorCategory::unsupported,
                names.device +
                    " is cuda, but this tessera was built without CUDA (CMake option "
                    "TESSERA_CUDA was OFF, or no nvcc was found when it was configured)");
  }
  const int gpus = cuda_device_count();
  if (gpus < ranks) {
    throw Error(ErrorCategory::unsupported,
                names.device + " is cuda with " + names.tensor_parallel + " " +
                    std::to_string(ranks) + ", one GPU per rank, but " + std::to_string(gpus) +
                    " CUDA GPU(s) were found");
  }
  return DeviceKind::cuda;
}

std::unique_ptr<Engine> Engine::start(const EngineConfig& config) {
  check_config(config);
  std::unique_ptr<Engine> engine(new Engine());
  engine->config_ = config;
  engine->device_ = resolve_device(config);
  engine->model_config_ = runtime::ModelConfig::load(config.model_dir);
  engine->generation_config_ = runtime::GenerationConfig::load(config.model_dir);
  // One stage: tensor parallelism over every rank of a cluster's nodes, or this node's; experts
  // over expert_parallel of them.
  const runtime::ParallelLayout layout(
      config.cluster ? config.cluster->world_size() : config.tensor_parallel, 1,
      config.expert_parallel);
  runtime::ShardPlan::make(engine->model_config_, layout, layout.driver_rank());  // names misfits
  const std::size_t driver = driver_shard(layout, config.local_ranks());
  std::shared_ptr<const runtime::Tokenizer> tokenizer;
  if (std::filesystem::exists(config.model_dir / "tokenizer.json")) {
    tokenizer = std::make_shared<runtime::Tokenizer>(runtime::Tokenizer::load(config.model_dir));
    engine->has_tokenizer_ = true;
  }

  engine->system_config_ = std::make_unique<caf::actor_system_config>();
  auto& cfg = *engine->system_config_;
  if (config.cluster) {
    config.cluster->configure(cfg);  // the middleman too
  } else {
    configure_actor_system(cfg);
  }
  if (config.actor_threads > 0) cfg.set("scheduler.max-threads", config.actor_threads);
  engine->system_ = std::make_unique<caf::actor_system>(cfg);
  engine->control_ = std::make_shared<EngineControl>();

  // Ranks of one group meet through one store: Gloo's rendezvous, or NCCL's unique id. The head
  // owns global ranks 0 … local_ranks()-1, and sends its seed base to the workers so that
  // every node samples alike.
  ShardGroup group{layout, 0, nullptr, 0};
  std::random_device entropy;
  group.seed_base = (std::uint64_t{entropy()} << 32) ^ entropy();
  if (config.cluster) {
    group.store = config.cluster->open(*engine->system_, layout, group.seed_base);
  } else if (layout.world_size() > 1) {
    group.store = runtime::make_in_process_store();
  }
  for (auto& shard : make_shard_configs(config, engine->device_, group)) {
    engine->shards_.push_back(spawn_shard(*engine->system_, std::move(shard)));
  }

  // A worker's node link answers for all of its ranks, after the head's own shards.
  if (config.cluster) {
    for (auto& link : config.cluster->join(*engine->system_)) {
      engine->shards_.push_back(std::move(link));
    }
  }

  // Two rounds: every rank loads its weights and says what KV pool it could hold (on a GPU that
  // is only known once the weights are in), then every rank allocates the count agreed here.
  // Whatever throws from here on, ~Engine stops the shards before the actor system goes.
  std::string failures;
  {
    caf::scoped_actor self{*engine->system_};
    const auto loaded = ask_every_shard(self, engine->shards_, config.start_timeout, failures,
                                        init_atom::value);
    if (failures.empty()) {
      const std::int64_t blocks =
          agree_kv_blocks(config, engine->model_config_, engine->device_, loaded);
      engine->ranks_ = ask_every_shard(self, engine->shards_, config.start_timeout, failures,
                                       allocate_atom::value, blocks);
      engine->kv_blocks_ = blocks;
    }
  }
  if (!failures.empty()) {
    throw Error(ErrorCategory::internal, "the engine could not start: " + failures);
  }

  if (config.cluster) config.cluster->ready();
  engine->sampler_ = spawn_sampler(*engine->system_, SamplerConfig{tokenizer});
  std::vector<std::int64_t> eos = engine->generation_config_.eos_token_ids;
  PlannerConfig planner{engine->kv_blocks_, config.block_size, config.max_batch_tokens,
                        config.max_running, eos};
  SchedulerConfig scheduler{planner, engine->shards_, driver, engine->sampler_,
                            config.step_timeout, {}};
  if (config.cluster) {
    engine->health_ = std::make_shared<HealthBoard>();
    RecoveryConfig recovery;
    recovery.recovery_timeout = config.cluster->recovery_timeout();
    recovery.start_timeout = config.start_timeout;
    recovery.health = engine->health_;
    scheduler.recovery = recovery;
  }
  engine->scheduler_ = spawn_scheduler(*engine->system_, std::move(scheduler));
  caf::anon_send(engine->sampler_, init_atom::value, engine->scheduler_);
  // From here on a lost worker degrades the cluster and a returning one re-forms it.
  if (config.cluster) config.cluster->watch(engine->scheduler_);
  engine->control_->scheduler = engine->scheduler_;
  return engine;
}

std::int64_t Engine::kv_cache_bytes_per_rank() const {
  std::int64_t per_block = 0;
  for (const auto& rank : ranks_) per_block = std::max(per_block, rank.kv_bytes_per_block);
  return kv_blocks_ * per_block;
}

Engine::~Engine() { shutdown(); }

// Each failure names its field twice: as data, for callers (the HTTP `param`), and as the start
// of its message, for people.
std::optional<Failure> Engine::validate(const GenerateRequest& r) const {
  const auto refuse = [](std::string field, std::string message) {
    return Failure{ErrorCategory::invalid_argument, std::move(field), std::move(message)};
  };
  if (r.prompt.empty()) return refuse("prompt", "prompt: must hold at least one token id");
  const auto vocab = model_config_.vocab_size;
  for (std::size_t i = 0; i < r.prompt.size(); ++i) {
    if (r.prompt[i] < 0 || r.prompt[i] >= vocab) {
      return refuse("prompt", "prompt[" + std::to_string(i) + "]: token id " +
                                  std::to_string(r.prompt[i]) + " is outside the vocabulary (0 to " +
                                  std::to_string(vocab - 1) + ")");
    }
  }
  if (r.max_tokens < 1) {
    return refuse("max_tokens", "max_tokens: must be at least 1, got " + std::to_string(r.max_tokens));
  }
  // The binding limit is the smaller of the model's context and the KV pool, and the message
  // names which one it is. Compared as room left after the prompt, so that a max_tokens near
  // INT64_MAX cannot overflow past the check.
  const auto prompt = static_cast<std::int64_t>(r.prompt.size());
  const auto pool = kv_blocks_ * config_.block_size;
  const auto context = model_config_.max_position_embeddings;
  const bool context_binds = context > 0 && context <= pool;
  const auto limit = context_binds ? context : pool;
  if (prompt > limit || r.max_tokens > limit - prompt) {
    return refuse("max_tokens", "max_tokens: the prompt's " + std::to_string(prompt) +
                                    " tokens plus " + std::to_string(r.max_tokens) +
                                    " new ones exceed " +
                                    (context_binds ? "the model's context of "
                                                   : "the KV pool's capacity of ") +
                                    std::to_string(limit) + " tokens");
  }
  for (std::size_t i = 0; i < r.stop_token_ids.size(); ++i) {
    const auto id = r.stop_token_ids[i];
    if (id < 0 || id >= vocab) {
      return refuse("stop_token_ids", "stop_token_ids[" + std::to_string(i) + "]: token id " +
                                          std::to_string(id) + " is outside the vocabulary (0 to " +
                                          std::to_string(vocab - 1) + ")");
    }
  }
  for (std::size_t i = 0; i < r.stop.size(); ++i) {
    if (r.stop[i].empty()) return refuse("stop", "stop[" + std::to_string(i) + "]: must not be empty");
  }
  if (!r.stop.empty() && !has_tokenizer_) {
    return refuse("stop",
                  "stop: stop strings need a tokenizer, and the model folder has no tokenizer.json");
  }
  try {
    r.sampling.validate("sampling.");
  } catch (const std::exception& e) {
    return Failure::of(e);  // invalid_argument, its field "sampling.<name>"
  }
  return std::nullopt;
}

RequestHandle Engine::submit(GenerateRequest request, std::function<void(const TokenEvent&)> on_token,
                             std::function<void(const FinalEvent&)> on_final) {
  const auto id = control_->next_id.fetch_add(1);
  auto sink = std::make_shared<RequestSink>(id, std::move(on_token), std::move(on_final));
  RequestHandle handle(sink, control_);
  const auto prompt_tokens = static_cast<std::int64_t>(request.prompt.size());
  if (auto failure = validate(request)) {
    sink->finish({id, "error", prompt_tokens, 0, std::move(*failure)});
    return handle;
  }
  {
    std::lock_guard lock(control_->mutex);
    if (!control_->stopped) {
      control_->open.emplace(id, sink);
      std::weak_ptr<EngineControl> control = control_;
      sink->set_on_done([control](std::uint64_t done) {
        if (auto c = control.lock()) {
          std::lock_guard inner(c->mutex);
          c->open.erase(done);
        }
      });
      caf::anon_send(control_->scheduler, submit_atom::value, id, std::move(request), sink);
      return handle;
    }
  }
  sink->finish(
      {id, "error", prompt_tokens, 0, {ErrorCategory::unavailable, {}, "the engine is shut down"}});
  return handle;
}

void Engine::cancel(std::uint64_t request_id) { control_->cancel(request_id); }

EngineStats Engine::stats() const {
  EngineStats stats;
  std::string failure = "the engine is shut down";
  if (system_ && scheduler_) {
    caf::scoped_actor self{*system_};
    self->request(scheduler_, std::chrono::seconds(1), stats_atom::value)
        .receive([&](const EngineStats& s) { stats = s, failure.clear(); },
                 [&](caf::error& e) { failure = self->system().render(e); });
  }
  if (!failure.empty()) throw Error(ErrorCategory::internal, "engine stats: " + failure);
  return stats;
}

ClusterHealth Engine::health() const {
  if (!health_) return ClusterHealth{};
  return health_->get();
}

void Engine::shutdown() {
  if (!control_ || !system_) return;
  {
    std::lock_guard lock(control_->mutex);
    if (control_->stopped) return;
    control_->stopped = true;  // no submit reaches the actors from here on
  }
  {
    // The scheduler cancels what it holds, then the sampler delivers those finals (the
    // scheduler's messages to it are queued before its reply to us) and ends the rest.
    caf::scoped_actor self{*system_};
    if (scheduler_) {
      self->request(scheduler_, std::chrono::milliseconds(400), shutdown_atom::value)
          .receive([](bool) {}, [](caf::error&) {});
    }
    if (sampler_) {
      self->request(sampler_, std::chrono::milliseconds(300), shutdown_atom::value)
          .receive([](bool) {}, [](caf::error&) {});
    }
  }
  std::vector<RequestSinkPtr> left;
  {
    std::lock_guard lock(control_->mutex);
    for (auto& [id, weak] : control_->open) {
      if (auto sink = weak.lock()) left.push_back(sink);
    }
    control_->open.clear();
    control_->scheduler = caf::actor{};
  }
  const Failure stopped{ErrorCategory::unavailable, {}, "the engine shut down"};
  for (auto& sink : left) sink->finish({sink->id(), "cancelled", 0, 0, stopped});
  for (auto& shard : shards_) caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  if (sampler_) caf::anon_send_exit(sampler_, caf::exit_reason::user_shutdown);
  if (scheduler_) caf::anon_send_exit(scheduler_, caf::exit_reason::user_shutdown);
  shards_.clear();
  sampler_ = caf::actor{};
  scheduler_ = caf::actor{};
  if (config_.cluster) config_.cluster->close();
  system_.reset();  // waits for every actor (a running forward step finishes first)
}

}  // namespace tessera::actors
