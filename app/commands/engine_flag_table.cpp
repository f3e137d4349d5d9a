#include "app/commands/engine_flag_table.hpp"

#include <array>
#include <cstdio>
#include <limits>

#include "app/commands/flag_values.hpp"
#include "runtime/core/error.hpp"

namespace tessera::app {
namespace {

using actors::EngineConfig;
using enum EngineCommand;

// Every command that runs ranks: a worker's shards are shaped by these as much as the head's.
constexpr EngineCommands kEveryCommand = generate | serve | worker;
// The scheduler's settings. It runs on the head (generate or serve), which decides the KV pool,
// the batches and the steps for every rank; a worker takes them from the head.
constexpr EngineCommands kHeadOnly = generate | serve;

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

constexpr std::array kRows{
    EngineFlagRow{
        .flag = "--model",
        .field = "model_dir",
        .value_name = "DIR",
        .help = "Hugging Face model folder",
        .commands = kEveryCommand,
        .required = true,
        .set = [](std::string_view flag, const std::string& text, EngineConfig& c) {
          if (text.empty()) {
            throw Error(ErrorCategory::invalid_argument,
                        std::string(flag) + " must be a model folder's path (got '')");
          }
          c.model_dir = text;
        },
        .show = [](const EngineConfig& c) { return c.model_dir.string(); },
    },
    EngineFlagRow{
        .flag = "--tp",
        .field = "tensor_parallel",
        .value_name = "N",
        .help = "Tensor-parallel ranks in this process",
        .commands = kEveryCommand,
        .set = [](std::string_view flag, const std::string& text, EngineConfig& c) {
          c.tensor_parallel = static_cast<int>(parse_whole_number(flag, text, 1, 1024));
        },
        .show = [](const EngineConfig& c) { return std::to_string(c.tensor_parallel); },
    },
    EngineFlagRow{
        .flag = "--ep",
        .field = "expert_parallel",
        .value_name = "N",
        .help = "Expert-parallel ranks for a mixture-of-experts model: its experts placed whole "
                "over N ranks; this process runs max(--tp, --ep) ranks, a cluster's head places "
                "them over N of the cluster's ranks",
        .commands = kHeadOnly,
        .set = [](std::string_view flag, const std::string& text, EngineConfig& c) {
          c.expert_parallel = static_cast<int>(parse_whole_number(flag, text, 1, 1024));
        },
        .show = [](const EngineConfig& c) { return std::to_string(c.expert_parallel); },
    },
    EngineFlagRow{
        .flag = "--device",
        .field = "device",
        .value_name = "auto|cpu|cuda",
        .help = "Where the ranks compute; auto: a CUDA GPU per rank if there are enough, "
                "otherwise the CPU",
        .commands = kEveryCommand,
        .set = [](std::string_view flag, const std::string& text, EngineConfig& c) {
          const auto device = actors::parse_device_kind(text);
          if (!device) {
            throw Error(ErrorCategory::invalid_argument,
                        std::string(flag) + " must be auto, cpu or cuda (got '" + text + "')");
          }
          c.device = *device;
        },
        .show = [](const EngineConfig& c) { return std::string(actors::to_string(c.device)); },
    },
    EngineFlagRow{
        .flag = "--gpu-memory-utilization",
        .field = "gpu_memory_utilization",
        .value_name = "F",
        .help = "CUDA: share of each GPU for weights and KV cache, in (0, 1]; the KV cache gets "
                "what the weights leave",
        .commands = kEveryCommand,
        .set = [](std::string_view flag, const std::string& text, EngineConfig& c) {
          c.gpu_memory_utilization = parse_fraction(flag, text);
        },
        .show = [](const EngineConfig& c) { return number_text(c.gpu_memory_utilization); },
    },
    EngineFlagRow{
        .flag = "--kv-blocks",
        .field = "kv_blocks",
        .value_name = "N",
        .help = "KV-cache blocks per rank; 0: as many as --kv-memory (CPU) or "
                "--gpu-memory-utilization (CUDA) allow, at most what --max-running sequences of "
                "the model's full context need",
        .commands = kHeadOnly,
        .set = [](std::string_view flag, const std::string& text, EngineConfig& c) {
          // Block ids are 32-bit in the block tables.
          c.kv_blocks = parse_whole_number(flag, text, 0, std::numeric_limits<std::int32_t>::max());
        },
        .show = [](const EngineConfig& c) { return std::to_string(c.kv_blocks); },
    },
    EngineFlagRow{
        .flag = "--kv-memory",
        .field = "kv_memory_bytes",
        .value_name = "BYTES",
        .help = "CPU: memory each rank's KV cache may take when --kv-blocks is 0, in bytes or "
                "with KiB, MiB, GiB or TiB",
        .commands = kEveryCommand,
        .set = [](std::string_view flag, const std::string& text, EngineConfig& c) {
          c.kv_memory_bytes = parse_bytes(flag, text);
        },
        .show = [](const EngineConfig& c) { return bytes_text(c.kv_memory_bytes); },
    },
    EngineFlagRow{
        .flag = "--kv-block-size",
        .field = "block_size",
        .value_name = "N",
        .help = "Tokens per KV-cache block; a cluster's nodes keep the default for now",
        .commands = kEveryCommand,
        .set = [](std::string_view flag, const std::string& text, EngineConfig& c) {
          c.block_size = parse_power_of_two(flag, text, 1, 256);
        },
        .show = [](const EngineConfig& c) { return std::to_string(c.block_size); },
    },
    EngineFlagRow{
        .flag = "--max-batch-tokens",
        .field = "max_batch_tokens",
        .value_name = "N",
        .help = "New tokens per step, prefill chunks and decodes together",
        .commands = kHeadOnly,
        .set = [](std::string_view flag, const std::string& text, EngineConfig& c) {
          c.max_batch_tokens = parse_whole_number(flag, text, 1, 1 << 20);
        },
        .show = [](const EngineConfig& c) { return std::to_string(c.max_batch_tokens); },
    },
    EngineFlagRow{
        .flag = "--max-running",
        .field = "max_running",
        .value_name = "N",
        .help = "Sequences in the running batch at once",
        .commands = kHeadOnly,
        .set = [](std::string_view flag, const std::string& text, EngineConfig& c) {
          c.max_running = parse_whole_number(flag, text, 1, 1 << 16);
        },
        .show = [](const EngineConfig& c) { return std::to_string(c.max_running); },
    },
    EngineFlagRow{
        .flag = "--actor-threads",
        .field = "actor_threads",
        .value_name = "N",
        .help = "CAF worker threads (0: CAF's default); each rank has its own thread besides",
        .commands = kEveryCommand,
        .set = [](std::string_view flag, const std::string& text, EngineConfig& c) {
          c.actor_threads = static_cast<std::size_t>(parse_whole_number(flag, text, 0, 1024));
        },
        .show = [](const EngineConfig& c) { return std::to_string(c.actor_threads); },
    },
    EngineFlagRow{
        .flag = "--start-timeout",
        .field = "start_timeout",
        .value_name = "SECONDS",
        .help = "Loading the weights and joining the ranks' group",
        .commands = kEveryCommand,
        .set = [](std::string_view flag, const std::string& text, EngineConfig& c) {
          c.start_timeout = parse_seconds(flag, text);
        },
        .show = [](const EngineConfig& c) { return seconds_text(c.start_timeout); },
    },
    EngineFlagRow{
        .flag = "--step-timeout",
        .field = "step_timeout",
        .value_name = "SECONDS",
        .help = "One forward step; a step that takes longer fails its requests",
        .commands = kHeadOnly,
        .set = [](std::string_view flag, const std::string& text, EngineConfig& c) {
          c.step_timeout = parse_seconds(flag, text);
        },
        .show = [](const EngineConfig& c) { return seconds_text(c.step_timeout); },
    },
    EngineFlagRow{
        .flag = "--collective-timeout",
        .field = "collective_timeout",
        .value_name = "SECONDS",
        .help = "Each collective or transfer between ranks: a peer silent this long fails the "
                "step instead of hanging it",
        .commands = kEveryCommand,
        .set = [](std::string_view flag, const std::string& text, EngineConfig& c) {
          c.collective_timeout = parse_seconds(flag, text);
        },
        .show = [](const EngineConfig& c) { return seconds_text(c.collective_timeout); },
    },
};

constexpr std::array kDerived{
    DerivedEngineField{
        .field = "cluster",
        .derived_from = "the cluster flags (--mn-*, --cluster-secret, --tls-*; "
                        "app/commands/cluster_flags.cpp): a head's part, built by "
                        "make_engine_config",
    },
};

}  // namespace

std::string_view to_string(EngineCommand command) {
  switch (command) {
    case generate:
      return "generate";
    case serve:
      return "serve";
    case worker:
      break;
  }
  return "worker";
}

std::span<const EngineFlagRow> engine_flag_rows() { return kRows; }

std::span<const DerivedEngineField> derived_engine_fields() { return kDerived; }

std::string help_text(const EngineFlagRow& row) {
  std::string text(row.help);
  if (!row.required) text += " (default " + row.show(EngineConfig{}) + ")";
  return text;
}

}  // namespace tessera::app
