// `tessera generate`: continue a prompt with a model, through the Engine (scheduler, shards,
// sampler), streaming text or ids as they come.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "actors/engine.hpp"
#include "app/commands/engine_flags.hpp"
#include "app/commands/prompt_input.hpp"
#include "app/commands/registry.hpp"
#include "app/commands/worker_mode.hpp"
#include "runtime/backend/cpu_backend.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/comm/communicator.hpp"
#include "runtime/core/error.hpp"
#include "runtime/model/greedy_generation.hpp"

namespace tessera::app {
namespace {

using Clock = std::chrono::steady_clock;

// The command line decodes greedily unless asked otherwise, so a run is reproducible.
runtime::SamplingParams greedy_by_default() {
  runtime::SamplingParams params;
  params.temperature = 0.0f;
  return params;
}

struct GenerateOptions {
  EngineFlags engine;
  PromptFlags prompt;
  std::int64_t max_tokens = 32;
  runtime::SamplingParams sampling = greedy_by_default();
  std::uint64_t seed = 0;
  std::vector<std::string> stop;
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

// --logits-out needs the prompt's last logits, which the serving path does not return: run the
// same model directly, single rank, greedy.
std::vector<float> prompt_logits(const GenerateOptions& options, const actors::EngineConfig& engine,
                                 const std::vector<std::int32_t>& prompt) {
  if (engine.local_ranks() != 1 || !options.sampling.greedy()) {
    throw Error(ErrorCategory::invalid_argument,
                "--logits-out works with one rank (--tp 1, --ep 1) and --temperature 0");
  }
  const auto& model_dir = engine.model_dir;
  const auto config = runtime::ModelConfig::load(model_dir);
  runtime::CpuBackend backend;
  runtime::SingleRankCommunicator communicator;
  runtime::Transformer model(config, runtime::ShardPlan::make(config, 0, 1),
                             runtime::Checkpoint::open(model_dir), backend, communicator);
  runtime::GreedyOptions greedy;
  greedy.max_new_tokens = 1;
  return runtime::generate_greedy(model, prompt, greedy).last_prompt_logits;
}

void run_generate(const GenerateOptions& options) {
  if (run_if_worker(options.engine)) return;  // a worker generates nothing of its own
  if (options.max_tokens < 1) {
    throw Error(ErrorCategory::invalid_argument, "--max-tokens must be at least 1");
  }
  const auto config = make_engine_config(options.engine);
  const std::string layout = layout_text(config);
  std::fprintf(stderr, "tessera: loading %s on %s\n", config.model_dir.c_str(), layout.c_str());
  const auto engine = actors::Engine::start(config);
  std::fprintf(stderr, "tessera: %s\n", kv_cache_text(*engine).c_str());
  const std::vector<std::int32_t> prompt =
      resolve_prompt(options.prompt, config.model_dir, engine->model_config().vocab_size);
  if (!options.logits_out.empty()) {
    write_logits(options.logits_out, prompt_logits(options, config, prompt));
  }

  actors::GenerateRequest request;
  request.prompt = prompt;
  request.sampling = options.sampling;
  if (!options.sampling.greedy()) request.sampling.seed = options.seed;
  request.max_tokens = options.max_tokens;
  request.stop = options.stop;
  request.ignore_eos = options.ignore_eos;

  std::vector<std::int32_t> generated;
  std::string text;
  const auto start = Clock::now();
  Clock::time_point first_token;
  const bool stream = !options.json;
  if (stream && !options.prompt.prompt.empty() && !options.prompt.chat) {
    std::printf("%s", options.prompt.prompt.c_str());
  }
  auto on_token = [&](const actors::TokenEvent& event) {
    if (generated.empty()) first_token = Clock::now();
    generated.insert(generated.end(), event.token_ids.begin(), event.token_ids.end());
    text += event.text;
    if (!stream) return;
    if (engine->has_tokenizer()) {
      std::printf("%s", event.text.c_str());
    } else {
      for (const auto id : event.token_ids) std::printf("%d ", id);
    }
    std::fflush(stdout);
  };
  const actors::FinalEvent final = engine->submit(request, on_token).wait();
  const auto end = Clock::now();
  if (final.finish_reason == "error") throw final.failure.error();  // its own category and field

  const double first_token_seconds = std::chrono::duration<double>(first_token - start).count();
  const double decode_seconds = std::chrono::duration<double>(end - first_token).count();
  const double decode_rate =
      generated.size() > 1 ? static_cast<double>(generated.size() - 1) / decode_seconds : 0.0;
  if (options.json) {
    nlohmann::json out = {
        {"token_ids", generated},
        {"finish_reason", final.finish_reason},
        {"prompt_tokens", final.prompt_tokens},
        {"completion_tokens", final.completion_tokens},
        {"backend", std::string(actors::to_string(engine->device()))},
        {"tensor_parallel", config.tensor_parallel},
        {"expert_parallel", config.expert_parallel},
        {"time_to_first_token_seconds", first_token_seconds},
        {"decode_tokens_per_second", decode_rate},
    };
    if (engine->has_tokenizer()) out["text"] = text;
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("\n");
    std::fflush(stdout);  // the statistics line (stderr) must come after the text
    std::fprintf(stderr,
                 "[%zu tokens, finish: %s | first token %.3f s, decode %.1f tokens/s | %s]\n",
                 generated.size(), final.finish_reason.c_str(), first_token_seconds, decode_rate,
                 layout.c_str());
  }
}

// SamplingParams names its fields (top_k); say it with the flags' spelling (--top-k).
void validate_sampling_flags(const runtime::SamplingParams& sampling) {
  try {
    sampling.validate("--");
  } catch (const Error& e) {
    std::string message = e.what();
    const auto flag_end = std::min(message.find(' '), message.size());
    std::replace(message.begin(), message.begin() + static_cast<std::ptrdiff_t>(flag_end), '_', '-');
    throw Error(e.category(), message);
  }
}

void add_generate_command(CLI::App& root) {
  auto options = std::make_shared<GenerateOptions>();
  CLI::App* cmd = root.add_subcommand("generate", "Continue a prompt with a model");
  add_engine_flags(*cmd, EngineCommand::generate, options->engine);
  cmd->add_option("--prompt", options->prompt.prompt, "Prompt text (needs tokenizer.json)");
  cmd->add_option("--prompt-ids", options->prompt.prompt_ids, "Prompt token ids, comma-separated");
  cmd->add_flag("--chat", options->prompt.chat,
                "Wrap --prompt as a user message with the model's chat template");
  cmd->add_option("--max-tokens", options->max_tokens, "Most tokens to generate")
      ->capture_default_str();
  cmd->add_option("--temperature", options->sampling.temperature, "0: greedy")
      ->capture_default_str();
  cmd->add_option("--top-k", options->sampling.top_k, "Keep the k most likely tokens (0: off)");
  cmd->add_option("--top-p", options->sampling.top_p, "Nucleus sampling threshold");
  cmd->add_option("--min-p", options->sampling.min_p, "Drop tokens below min-p × the top one");
  cmd->add_option("--repetition-penalty", options->sampling.repetition_penalty,
                  "HF repetition penalty over prompt and output (1: off)");
  cmd->add_option("--presence-penalty", options->sampling.presence_penalty, "OpenAI semantics");
  cmd->add_option("--frequency-penalty", options->sampling.frequency_penalty, "OpenAI semantics");
  cmd->add_option("--seed", options->seed, "Random seed for sampling")->capture_default_str();
  cmd->add_option("--stop", options->stop, "Stop string (repeatable)");
  cmd->add_flag("--json", options->json, "Print one JSON object with token_ids and statistics");
  cmd->add_flag("--ignore-eos", options->ignore_eos, "Keep generating past end-of-sequence ids");
  cmd->add_option("--logits-out", options->logits_out,
                  "Write the logits of the last prompt position to this file as a JSON array");
  cmd->callback([options] {
    validate_sampling_flags(options->sampling);
    run_generate(*options);
  });
}

const CommandRegistration registration{"generate", &add_generate_command};

}  // namespace
}  // namespace tessera::app
