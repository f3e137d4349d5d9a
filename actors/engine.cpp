#include "actors/engine.hpp"

#include <caf/all.hpp>
#include <atomic>
#include <mutex>
#include <random>
#include <unordered_map>

#include "actors/messages.hpp"
#include "actors/request_sink.hpp"
#include "actors/sampler_actor.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/shard_actor.hpp"
#include "runtime/comm/gloo_communicator.hpp"
#include "runtime/core/error.hpp"
#include "runtime/kv/kv_cache.hpp"
#include "runtime/model/shard_plan.hpp"
#include "runtime/tokenizer/tokenizer.hpp"

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
      .add_message_type<EngineStats>("tessera.EngineStats");
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

void check_config(const EngineConfig& c) {
  if (c.tensor_parallel < 1) throw bad_config("tensor_parallel", "must be at least 1");
  if (c.kv_blocks < 0) throw bad_config("kv_blocks", "must be 0 (automatic) or positive");
  if (c.kv_blocks == 0 && c.kv_memory_bytes < 1) {
    throw bad_config("kv_memory_bytes", "must be positive when kv_blocks is 0");
  }
  if (c.block_size < 1) throw bad_config("block_size", "must be at least 1");
  if (c.max_batch_tokens < 1) throw bad_config("max_batch_tokens", "must be at least 1");
  if (c.max_running < 1) throw bad_config("max_running", "must be at least 1");
}

// Blocks that fit the memory budget on one rank, but never more than max_running sequences of
// the model's full context need.
std::int64_t pick_kv_blocks(const EngineConfig& c, const runtime::ModelConfig& model) {
  if (c.kv_blocks > 0) return c.kv_blocks;
  const auto plan = runtime::ShardPlan::make(model, 0, c.tensor_parallel);
  const std::int64_t bytes_per_block =
      2 * model.num_hidden_layers * plan.kv_heads * model.head_dim * c.block_size * 4;
  const std::int64_t by_memory = c.kv_memory_bytes / std::max<std::int64_t>(1, bytes_per_block);
  const std::int64_t by_need =
      c.max_running * runtime::blocks_for_tokens(model.max_position_embeddings, c.block_size);
  return std::max<std::int64_t>(1, std::min(by_memory, by_need));
}

}  // namespace

std::unique_ptr<Engine> Engine::start(const EngineConfig& config) {
  check_config(config);
  std::unique_ptr<Engine> engine(new Engine());
  engine->config_ = config;
  engine->model_config_ = runtime::ModelConfig::load(config.model_dir);
  engine->generation_config_ = runtime::GenerationConfig::load(config.model_dir);
  runtime::ShardPlan::make(engine->model_config_, 0, config.tensor_parallel);  // names misfits
  engine->kv_blocks_ = pick_kv_blocks(config, engine->model_config_);
  std::shared_ptr<const runtime::Tokenizer> tokenizer;
  if (std::filesystem::exists(config.model_dir / "tokenizer.json")) {
    tokenizer = std::make_shared<runtime::Tokenizer>(runtime::Tokenizer::load(config.model_dir));
    engine->has_tokenizer_ = true;
  }

  engine->system_config_ = std::make_unique<caf::actor_system_config>();
  auto& cfg = *engine->system_config_;
  configure_actor_system(cfg);
  if (config.actor_threads > 0) cfg.set("scheduler.max-threads", config.actor_threads);
  engine->system_ = std::make_unique<caf::actor_system>(cfg);
  engine->control_ = std::make_shared<EngineControl>();

  // Every rank gets init at once: Gloo ranks join their group concurrently.
  std::shared_ptr<gloo::rendezvous::Store> store;
  if (config.tensor_parallel > 1) store = runtime::make_in_process_store();
  std::random_device entropy;
  const std::uint64_t seed_base = (std::uint64_t{entropy()} << 32) ^ entropy();
  for (int rank = 0; rank < config.tensor_parallel; ++rank) {
    ShardConfig shard{config.model_dir, rank, config.tensor_parallel, engine->kv_blocks_,
                      config.block_size, store, std::chrono::milliseconds(30000), seed_base};
    engine->shards_.push_back(spawn_shard(*engine->system_, std::move(shard)));
  }
  std::string failures;
  {
    caf::scoped_actor self{*engine->system_};
    using Reply = decltype(self->request(engine->shards_.front(), config.start_timeout,
                                         init_atom::value));
    std::vector<Reply> replies;
    for (const auto& shard : engine->shards_) {
      replies.push_back(self->request(shard, config.start_timeout, init_atom::value));
    }
    for (auto& reply : replies) {
      reply.receive([](const ShardReady&) {},
                    [&](caf::error& error) {
                      failures += (failures.empty() ? "" : "; ") + self->system().render(error);
                    });
    }
  }
  engine->sampler_ = spawn_sampler(*engine->system_, SamplerConfig{tokenizer});
  std::vector<std::int64_t> eos = engine->generation_config_.eos_token_ids;
  PlannerConfig planner{engine->kv_blocks_, config.block_size, config.max_batch_tokens,
                        config.max_running, eos};
  engine->scheduler_ = spawn_scheduler(
      *engine->system_, SchedulerConfig{planner, engine->shards_, engine->sampler_,
                                        config.step_timeout});
  caf::anon_send(engine->sampler_, init_atom::value, engine->scheduler_);
  engine->control_->scheduler = engine->scheduler_;
  if (!failures.empty()) {
    engine->shutdown();
    throw Error(ErrorCategory::internal, "the engine could not start: " + failures);
  }
  return engine;
}

Engine::~Engine() { shutdown(); }

std::string Engine::validate(const GenerateRequest& r) const {
  if (r.prompt.empty()) return "prompt: must hold at least one token id";
  const auto vocab = model_config_.vocab_size;
  for (std::size_t i = 0; i < r.prompt.size(); ++i) {
    if (r.prompt[i] < 0 || r.prompt[i] >= vocab) {
      return "prompt[" + std::to_string(i) + "]: token id " + std::to_string(r.prompt[i]) +
             " is outside the vocabulary (0 to " + std::to_string(vocab - 1) + ")";
    }
  }
  if (r.max_tokens < 1) return "max_tokens: must be at least 1, got " + std::to_string(r.max_tokens);
  const auto total = static_cast<std::int64_t>(r.prompt.size()) + r.max_tokens;
  const auto capacity = kv_blocks_ * config_.block_size;
  if (total > capacity) {
    return "max_tokens: the prompt's " + std::to_string(r.prompt.size()) + " tokens plus " +
           std::to_string(r.max_tokens) + " new ones exceed the KV pool's capacity of " +
           std::to_string(capacity) + " tokens";
  }
  if (model_config_.max_position_embeddings > 0 && total > model_config_.max_position_embeddings) {
    return "max_tokens: the prompt's " + std::to_string(r.prompt.size()) + " tokens plus " +
           std::to_string(r.max_tokens) + " new ones exceed the model's context of " +
           std::to_string(model_config_.max_position_embeddings) + " tokens";
  }
  for (std::size_t i = 0; i < r.stop.size(); ++i) {
    if (r.stop[i].empty()) return "stop[" + std::to_string(i) + "]: must not be empty";
  }
  if (!r.stop.empty() && !has_tokenizer_) {
    return "stop: stop strings need a tokenizer, and the model folder has no tokenizer.json";
  }
  try {
    r.sampling.validate("sampling.");
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

RequestHandle Engine::submit(GenerateRequest request, std::function<void(const TokenEvent&)> on_token,
                             std::function<void(const FinalEvent&)> on_final) {
  const auto id = control_->next_id.fetch_add(1);
  auto sink = std::make_shared<RequestSink>(id, std::move(on_token), std::move(on_final));
  RequestHandle handle(sink, control_);
  const auto prompt_tokens = static_cast<std::int64_t>(request.prompt.size());
  if (auto error = validate(request); !error.empty()) {
    sink->finish({id, "error", prompt_tokens, 0, error});
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
  sink->finish({id, "error", prompt_tokens, 0, "the engine is shut down"});
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
  for (auto& sink : left) sink->finish({sink->id(), "cancelled", 0, 0, "the engine shut down"});
  for (auto& shard : shards_) caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  if (sampler_) caf::anon_send_exit(sampler_, caf::exit_reason::user_shutdown);
  if (scheduler_) caf::anon_send_exit(scheduler_, caf::exit_reason::user_shutdown);
  shards_.clear();
  sampler_ = caf::actor{};
  scheduler_ = caf::actor{};
  system_.reset();  // waits for every actor (a running forward step finishes first)
}

}  // namespace tessera::actors
