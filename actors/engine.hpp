#pragma once
// The embedding API: start an engine on a model folder, submit requests from any thread, get
// events through callbacks or wait on a handle. Behind it run a CAF actor system with one
// scheduler, one sampler and one shard per tensor-parallel rank.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/cluster_health.hpp"
#include "actors/engine_config.hpp"
#include "actors/message_data.hpp"
#include "actors/request.hpp"
#include "runtime/model/model_config.hpp"

namespace tessera::actors {

struct EngineControl;  // what outlives the engine for handles: stopped flag, scheduler, registry

// Whether this build has the CUDA backend and NCCL (CMake option TESSERA_CUDA).
bool cuda_built();
// CUDA GPUs this process sees: 0 without CUDA in the build, a driver or a GPU. Never throws.
int cuda_device_count();
// The GPU's name as the driver reports it ("NVIDIA H100 80GB HBM3"); throws Error(unsupported)
// when CUDA is not built in or the device cannot be queried.
std::string cuda_device_name(int device);
// How errors about the device name the settings: the command line passes its flags' names.
struct DeviceSettingNames {
  std::string device = "EngineConfig.device";
  std::string tensor_parallel = "EngineConfig.tensor_parallel";
};
// Where `config`'s shards run: cpu or cuda, never automatic. Throws Error(unsupported) naming the
// device setting when it is cuda and CUDA is not built in, or there are fewer GPUs than
// tensor-parallel ranks.
DeviceKind resolve_device(const EngineConfig& config, const DeviceSettingNames& names = {});

// A submitted request: its id, cancellation, and its final event.
class RequestHandle {
 public:
  RequestHandle(RequestSinkPtr sink, std::shared_ptr<EngineControl> control);
  std::uint64_t id() const;
  // Ends the request with finish_reason "cancelled" unless it finished already.
  void cancel() const;
  // Blocks until the final event (every request gets one, at the latest at shutdown).
  FinalEvent wait() const;
  std::optional<FinalEvent> wait_for(std::chrono::nanoseconds timeout) const;

 private:
  RequestSinkPtr sink_;
  std::shared_ptr<EngineControl> control_;
};

class Engine {
 public:
  // Loads the model on every rank, sizes the KV pool (on GPUs from the memory the weights
  // left) and waits (up to config.start_timeout for each of those two rounds) until all ranks
  // are ready. Prints nothing. Throws tessera::Error naming the field, file or rank that failed.
  static std::unique_ptr<Engine> start(const EngineConfig& config);
  ~Engine();  // shutdown()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Thread-safe. Invalid requests get an "error" FinalEvent whose failure is invalid_argument
  // with the field at fault, any submitted after shutdown one that is unavailable; both are
  // delivered before submit returns. Callbacks run on an actor thread: keep
  // them short and never block in them on another request of this engine.
  RequestHandle submit(GenerateRequest request,
                       std::function<void(const TokenEvent&)> on_token = {},
                       std::function<void(const FinalEvent&)> on_final = {});
  void cancel(std::uint64_t request_id);
  // Ends every request still open ("cancelled") and stops the actors; returns within about a
  // second unless a forward step is running, which it lets finish. Idempotent.
  void shutdown();

  EngineStats stats() const;  // throws Error(internal) when the scheduler does not answer in 1 s
  // A cluster head's health: degraded while a worker is missing or the group re-forms (which
  // worker, since when); always healthy on a single node. Thread-safe, never blocks on actors.
  ClusterHealth health() const;
  caf::actor scheduler() const { return scheduler_; }
  const EngineConfig& config() const { return config_; }
  const runtime::ModelConfig& model_config() const { return model_config_; }
  const runtime::GenerationConfig& generation_config() const { return generation_config_; }
  DeviceKind device() const { return device_; }  // cpu or cuda, as resolved at start
  // Every rank's start-up report in rank order: its device, and its KV pool (kv_blocks, the
  // same on every rank, and the bytes one block takes there).
  const std::vector<ShardReady>& ranks() const { return ranks_; }
  std::int64_t kv_blocks() const { return kv_blocks_; }
  std::int64_t kv_cache_bytes_per_rank() const;
  bool has_tokenizer() const { return has_tokenizer_; }

 private:
  Engine() = default;
  std::optional<Failure> validate(const GenerateRequest& request) const;  // none when valid

  EngineConfig config_;
  runtime::ModelConfig model_config_;
  runtime::GenerationConfig generation_config_;
  DeviceKind device_ = DeviceKind::cpu;
  std::vector<ShardReady> ranks_;
  std::int64_t kv_blocks_ = 0;
  bool has_tokenizer_ = false;
  std::unique_ptr<caf::actor_system_config> system_config_;
  std::unique_ptr<caf::actor_system> system_;
  std::vector<caf::actor> shards_;
  caf::actor sampler_;
  caf::actor scheduler_;
  std::shared_ptr<EngineControl> control_;
  std::shared_ptr<HealthBoard> health_;  // a cluster head's, written by the scheduler
};

}  // namespace tessera::actors
