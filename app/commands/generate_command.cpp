// `tessera generate`: load a model folder and continue a prompt greedily.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/commands/registry.hpp"
#include "app/commands/token_id_list.hpp"
#include "runtime/backend/cpu_backend.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/comm/communicator.hpp"
#include "runtime/core/error.hpp"
#include "runtime/model/greedy_generation.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/model/shard_plan.hpp"
#include "runtime/model/transformer.hpp"

namespace tessera::app {
namespace {

using tessera::Error;
using tessera::ErrorCategory;

struct GenerateOptions {
  std::string model_dir;
  std::string prompt_ids;
  std::int64_t max_tokens = 32;
  double temperature = 0.0;
  bool json = false;
  bool ignore_eos = false;
  std::string logits_out;
};

void write_logits(const std::string& path, const std::vector<float>& logits) {
  std::ofstream out(path);
  if (!out) throw Error(ErrorCategory::io, "--logits-out: cannot write " + path);
  out << nlohmann::json(logits).dump() << '\n';
  if (!out) throw Error(ErrorCategory::io, "--logits-out: failed writing " + path);
}

void run_generate(const GenerateOptions& options) {
  if (options.temperature != 0.0) {
    throw Error(ErrorCategory::unsupported,
                "--temperature: only greedy decoding (0) is available in this build");
  }
  if (options.max_tokens < 1) {
    throw Error(ErrorCategory::invalid_argument, "--max-tokens must be at least 1");
  }
  const runtime::ModelConfig config = runtime::ModelConfig::load(options.model_dir);
  const runtime::GenerationConfig generation = runtime::GenerationConfig::load(options.model_dir);
  const std::vector<std::int32_t> prompt =
      parse_token_id_list(options.prompt_ids, "--prompt-ids", config.vocab_size);

  runtime::CpuBackend backend;
  runtime::SingleRankCommunicator communicator;
  const runtime::ShardPlan plan = runtime::ShardPlan::make(config, 0, 1);
  std::unique_ptr<runtime::Transformer> model;
  {
    const runtime::Checkpoint checkpoint = runtime::Checkpoint::open(options.model_dir);
    model = std::make_unique<runtime::Transformer>(config, plan, checkpoint, backend, communicator);
  }

  runtime::GreedyOptions greedy;
  greedy.max_new_tokens = options.max_tokens;
  if (!options.ignore_eos) greedy.stop_token_ids = generation.eos_token_ids;
  auto print_token = [&](std::int32_t id) {
    if (!options.json) {
      std::printf("%d ", id);
      std::fflush(stdout);
    }
  };
  const runtime::GreedyResult result = runtime::generate_greedy(*model, prompt, greedy, print_token);
  if (!options.logits_out.empty()) write_logits(options.logits_out, result.last_prompt_logits);

  const double prefill_rate = static_cast<double>(prompt.size()) / result.prefill_seconds;
  const double decode_rate =
      result.token_ids.size() > 1
          ? static_cast<double>(result.token_ids.size() - 1) / result.decode_seconds
          : 0.0;
  if (options.json) {
    nlohmann::json out = {
        {"token_ids", result.token_ids},
        {"finish_reason", result.finish_reason},
        {"prompt_tokens", prompt.size()},
        {"completion_tokens", result.token_ids.size()},
        {"backend", std::string(backend.name())},
        {"tensor_parallel", plan.world_size},
        {"prefill_tokens_per_second", prefill_rate},
        {"decode_tokens_per_second", decode_rate},
    };
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("\n");
    std::fprintf(stderr, "[%zu tokens, finish: %s; prefill %.1f tok/s, decode %.1f tok/s; %s, tp=%d]\n",
                 result.token_ids.size(), result.finish_reason.c_str(), prefill_rate, decode_rate,
                 std::string(backend.name()).c_str(), plan.world_size);
  }
}

void add_generate_command(CLI::App& root) {
  auto options = std::make_shared<GenerateOptions>();
  CLI::App* cmd = root.add_subcommand("generate", "Continue a prompt with a model");
  cmd->add_option("--model", options->model_dir, "Hugging Face model folder")->required();
  cmd->add_option("--prompt-ids", options->prompt_ids, "Prompt token ids, comma-separated")
      ->required();
  cmd->add_option("--max-tokens", options->max_tokens, "Most tokens to generate")
      ->capture_default_str();
  cmd->add_option("--temperature", options->temperature, "Sampling temperature (0: greedy)")
      ->capture_default_str();
  cmd->add_flag("--json", options->json, "Print one JSON object with token_ids and statistics");
  cmd->add_flag("--ignore-eos", options->ignore_eos, "Keep generating past end-of-sequence ids");
  cmd->add_option("--logits-out", options->logits_out,
                  "Write the logits of the last prompt position to this file as a JSON array");
  cmd->callback([options] { run_generate(*options); });
}

const CommandRegistration registration{"generate", &add_generate_command};

}  // namespace
}  // namespace tessera::app
