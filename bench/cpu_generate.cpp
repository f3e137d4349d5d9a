// CPU baseline: prefill and decode tokens/s of one sequence on a model folder, as the median of
// repeated runs, beside the memory-bandwidth roofline of this machine measured in the same run
// (a decode step must read every weight once, so bandwidth / weight bytes bounds decode tokens/s).
//   cpu_generate --model DIR [--prompt-tokens 64] [--new-tokens 32] [--runs 5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_args.hpp"
#include "runtime/backend/cpu_backend.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/comm/communicator.hpp"
#include "runtime/model/greedy_generation.hpp"

namespace {

using tessera::bench::flag_value;
using tessera::bench::median;

using namespace tessera::runtime;

// Bytes per second of a large memcpy (read + write counted), median of several copies.
double copy_bandwidth() {
  const std::size_t bytes = std::size_t{256} << 20;
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  std::vector<double> rates;
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    std::memcpy(dst.data(), src.data(), bytes);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rates.push_back(2.0 * static_cast<double>(bytes) / s);
  }
  return median(rates);
}

std::int64_t weight_bytes_f32(const ModelConfig& c) {
  const std::int64_t q = c.num_attention_heads * c.head_dim;
  const std::int64_t kv = c.num_key_value_heads * c.head_dim;
  const std::int64_t per_layer =
      c.hidden_size * (q + 2 * kv) + q * c.hidden_size + 3 * c.hidden_size * c.intermediate_size;
  return 4 * (c.num_hidden_layers * per_layer + c.vocab_size * c.hidden_size);
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string model_dir = flag_value(argc, argv, "--model", "");
  if (model_dir.empty()) throw std::invalid_argument("--model DIR is required");
  const int prompt_tokens = std::stoi(flag_value(argc, argv, "--prompt-tokens", "64"));
  const int new_tokens = std::stoi(flag_value(argc, argv, "--new-tokens", "32"));
  const int runs = std::stoi(flag_value(argc, argv, "--runs", "5"));
  if (prompt_tokens < 1 || new_tokens < 2 || runs < 1) {
    throw std::invalid_argument("--prompt-tokens >= 1, --new-tokens >= 2 and --runs >= 1 needed");
  }

  const ModelConfig config = ModelConfig::load(model_dir);
  CpuBackend backend;
  SingleRankCommunicator communicator;
  Transformer model(config, ShardPlan::make(config, 0, 1), Checkpoint::open(model_dir), backend,
                    communicator);

  std::vector<std::int32_t> prompt(static_cast<std::size_t>(prompt_tokens));
  for (int i = 0; i < prompt_tokens; ++i) {
    prompt[static_cast<std::size_t>(i)] = static_cast<std::int32_t>((i * 7919 + 3) % config.vocab_size);
  }
  GreedyOptions options;
  options.max_new_tokens = new_tokens;  // no stop ids: every run decodes the same count
  generate_greedy(model, prompt, options);  // warm-up
  std::vector<double> prefill, decode;
  for (int r = 0; r < runs; ++r) {
    const GreedyResult result = generate_greedy(model, prompt, options);
    prefill.push_back(prompt_tokens / result.prefill_seconds);
    decode.push_back((new_tokens - 1) / result.decode_seconds);
  }
  const double bandwidth = copy_bandwidth();
  const double roofline = bandwidth / static_cast<double>(weight_bytes_f32(config));
  const nlohmann::json out = {
      {"bench", "cpu_generate"},
      {"model", model_dir},
      {"backend", "cpu"},
      {"threads", std::thread::hardware_concurrency()},
      {"prompt_tokens", prompt_tokens},
      {"new_tokens", new_tokens},
      {"runs", runs},
      {"prefill_tokens_per_second_median", median(prefill)},
      {"decode_tokens_per_second_median", median(decode)},
      {"copy_bandwidth_gb_per_second", bandwidth / 1e9},
      {"decode_roofline_tokens_per_second", roofline},
      {"decode_fraction_of_roofline", median(decode) / roofline},
  };
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "cpu_generate: %s\n", e.what());
  return 1;
}
