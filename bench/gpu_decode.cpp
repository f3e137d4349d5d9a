// Single-GPU decode on the CUDA backend (Transformer + CudaBackend, no actors), beside what the
// device can do, measured in the same run. Prints one JSON object (medians of repeated runs):
//   (a) copy bandwidth (device-to-device cudaMemcpy of 1 GiB, read + write counted) and the
//       bf16 GEMM rate (cuBLAS, 8192³);
//   (b) decode tokens/s at each batch size: every sequence prefilled with a prompt, then decode
//       steps (forward + greedy argmax, the host waiting for the tokens as a server does) timed
//       after a warm-up that also records the step's CUDA graph;
//   (c) time to first token of one long prompt (whole prefill + argmax);
// and the batch-1 roofline: bandwidth / bytes of weights a step reads bounds the tokens/s of one
// stream.
//   gpu_decode --model DIR [--prompt-tokens 128] [--decode-steps 64] [--batches 1,16,64]
//              [--ttft-tokens 1024] [--runs 3]
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/bench_args.hpp"
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/comm/communicator.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/model/shard_plan.hpp"
#include "runtime/model/transformer.hpp"

namespace {

using tessera::bench::flag_value;
using tessera::bench::int_list;
using tessera::bench::median;

using namespace tessera::runtime;
using Clock = std::chrono::steady_clock;

void cuda_ok(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
  }
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Seconds of each of `runs` calls of `work` on the default stream, timed with events.
template <class Work>
std::vector<double> event_times(int runs, Work work) {
  cudaEvent_t start, stop;
  cuda_ok(cudaEventCreate(&start), "cudaEventCreate");
  cuda_ok(cudaEventCreate(&stop), "cudaEventCreate");
  work();  // warm-up
  std::vector<double> seconds;
  for (int r = 0; r < runs; ++r) {
    cuda_ok(cudaEventRecord(start), "cudaEventRecord");
    work();
    cuda_ok(cudaEventRecord(stop), "cudaEventRecord");
    cuda_ok(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    cuda_ok(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    seconds.push_back(ms / 1e3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return seconds;
}

// Bytes per second of a device-to-device copy, read and write both counted.
double copy_bandwidth() {
  const std::size_t bytes = std::size_t{1} << 30;
  void* src = nullptr;
  void* dst = nullptr;
  cuda_ok(cudaMalloc(&src, bytes), "cudaMalloc");
  cuda_ok(cudaMalloc(&dst, bytes), "cudaMalloc");
  cuda_ok(cudaMemset(src, 1, bytes), "cudaMemset");
  const auto seconds = event_times(7, [&] {
    cuda_ok(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, nullptr), "cudaMemcpy");
  });
  cudaFree(src);
  cudaFree(dst);
  return 2.0 * static_cast<double>(bytes) / median(seconds);
}

// FLOP/s of a bf16 GEMM (f32 accumulation) of n × n × n.
double gemm_rate(int n) {
  const std::size_t bytes = static_cast<std::size_t>(n) * n * sizeof(__nv_bfloat16);
  void *a = nullptr, *b = nullptr, *c = nullptr;
  cuda_ok(cudaMalloc(&a, bytes), "cudaMalloc");
  cuda_ok(cudaMalloc(&b, bytes), "cudaMalloc");
  cuda_ok(cudaMalloc(&c, bytes), "cudaMalloc");
  cuda_ok(cudaMemset(a, 0, bytes), "cudaMemset");
  cuda_ok(cudaMemset(b, 0, bytes), "cudaMemset");
  cublasHandle_t handle;
  if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublasCreate");
  const float alpha = 1.0f, beta = 0.0f;
  const auto seconds = event_times(7, [&] {
    if (cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a, CUDA_R_16BF, n, b,
                     CUDA_R_16BF, n, &beta, c, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F,
                     CUBLAS_GEMM_DEFAULT) != CUBLAS_STATUS_SUCCESS) {
      throw std::runtime_error("cublasGemmEx");
    }
  });
  cublasDestroy(handle);
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  return 2.0 * n * static_cast<double>(n) * n / median(seconds);
}

// Prompt token i of sequence s: the same formula as bench/hf_decode.py.
std::int32_t prompt_token(std::int64_t s, std::int64_t i, std::int64_t vocab) {
  return static_cast<std::int32_t>((i * 7919 + 3 + s * 104729) % vocab);
}

// Sequences with their own blocks in one cache, prefilled and then decoded together.
class DecodeBatch {
 public:
  DecodeBatch(Transformer& model, std::int64_t sequences, std::int64_t capacity,
              std::int64_t block_size)
      : model_(model), block_size_(block_size), lengths_(static_cast<std::size_t>(sequences), 0) {
    const std::int64_t blocks_each = (capacity + block_size - 1) / block_size;
    cache_ = model.allocate_cache(blocks_each * sequences, block_size);
    for (std::int64_t s = 0; s < sequences; ++s) {
      std::vector<std::int32_t> table(static_cast<std::size_t>(blocks_each));
      for (std::int64_t b = 0; b < blocks_each; ++b) {
        table[static_cast<std::size_t>(b)] = static_cast<std::int32_t>(s * blocks_each + b);
      }
      tables_.push_back(std::move(table));
    }
  }

  // One step: `tokens[s]` new tokens for every sequence s; returns the greedy next tokens.
  std::vector<std::int32_t> step(const std::vector<std::vector<std::int32_t>>& tokens) {
    ForwardBatch batch;
    for (std::size_t s = 0; s < tokens.size(); ++s) {
      batch.sequences.push_back({static_cast<std::int64_t>(batch.token_ids.size()),
                                 static_cast<std::int64_t>(tokens[s].size()), tables_[s]});
      for (const std::int32_t id : tokens[s]) {
        const std::int64_t p = lengths_[s]++;
        batch.token_ids.push_back(id);
        batch.positions.push_back(static_cast<std::int32_t>(p));
        batch.slots.push_back(tables_[s][static_cast<std::size_t>(p / block_size_)] * block_size_ +
                              p % block_size_);
      }
    }
    return model_.backend().argmax_rows(model_.forward(batch, cache_));
  }

 private:
  Transformer& model_;
  std::int64_t block_size_;
  KvCache cache_;
  std::vector<std::vector<std::int32_t>> tables_;
  std::vector<std::int64_t> lengths_;
};

constexpr std::int64_t kBlockSize = 16;
constexpr int kWarmupSteps = 3;  // eager, graph capture, first replay

std::vector<std::vector<std::int32_t>> prompts_for(std::int64_t sequences, std::int64_t length,
                                                   std::int64_t vocab) {
  std::vector<std::vector<std::int32_t>> prompts(static_cast<std::size_t>(sequences));
  for (std::int64_t s = 0; s < sequences; ++s) {
    for (std::int64_t i = 0; i < length; ++i) {
      prompts[static_cast<std::size_t>(s)].push_back(prompt_token(s, i, vocab));
    }
  }
  return prompts;
}

// Decode tokens/s of `sequences` sequences: median over runs of `steps` steps each.
nlohmann::json measure_decode(Transformer& model, std::int64_t sequences, std::int64_t prompt,
                              int steps, int runs) {
  const std::int64_t capacity = prompt + kWarmupSteps + static_cast<std::int64_t>(runs) * steps + 1;
  DecodeBatch batch(model, sequences, capacity, kBlockSize);
  std::vector<std::vector<std::int32_t>> next(static_cast<std::size_t>(sequences));
  const auto prefill_start = Clock::now();
  auto ids = batch.step(prompts_for(sequences, prompt, model.config().vocab_size));
  const double prefill_seconds = seconds_since(prefill_start);
  auto decode = [&] {
    for (std::size_t s = 0; s < next.size(); ++s) next[s] = {ids[s]};
    ids = batch.step(next);
  };
  for (int i = 0; i < kWarmupSteps; ++i) decode();
  std::vector<double> rates;
  for (int r = 0; r < runs; ++r) {
    const auto start = Clock::now();
    for (int i = 0; i < steps; ++i) decode();
    rates.push_back(static_cast<double>(sequences * steps) / seconds_since(start));
  }
  return {{"batch", sequences},
          {"prompt_tokens", prompt},
          {"decode_steps", steps},
          {"prefill_seconds", prefill_seconds},
          {"decode_tokens_per_second", median(rates)},
          {"step_milliseconds", 1e3 * static_cast<double>(sequences) / median(rates)}};
}

// Seconds from the start of a `tokens`-token prefill to its first token on the host.
double time_to_first_token(Transformer& model, std::int64_t tokens, int runs) {
  std::vector<double> seconds;
  for (int r = 0; r <= runs; ++r) {  // the first run warms up
    DecodeBatch batch(model, 1, tokens + 1, kBlockSize);
    const auto prompts = prompts_for(1, tokens, model.config().vocab_size);
    cuda_ok(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    const auto start = Clock::now();
    batch.step(prompts);
    if (r > 0) seconds.push_back(seconds_since(start));
  }
  return median(seconds);
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string model_dir = flag_value(argc, argv, "--model", "");
  if (model_dir.empty()) throw std::invalid_argument("--model DIR is required");
  const std::int64_t prompt_tokens = std::stoll(flag_value(argc, argv, "--prompt-tokens", "128"));
  const int decode_steps = std::stoi(flag_value(argc, argv, "--decode-steps", "64"));
  const std::vector<int> batches = int_list(flag_value(argc, argv, "--batches", "1,16,64"));
  const std::int64_t ttft_tokens = std::stoll(flag_value(argc, argv, "--ttft-tokens", "1024"));
  const int runs = std::stoi(flag_value(argc, argv, "--runs", "3"));
  if (prompt_tokens < 1 || decode_steps < 1 || runs < 1 || batches.empty() || ttft_tokens < 1) {
    throw std::invalid_argument("positive --prompt-tokens, --decode-steps, --runs, --batches, "
                                "--ttft-tokens needed");
  }

  cudaDeviceProp props{};
  cuda_ok(cudaGetDeviceProperties(&props, 0), "cudaGetDeviceProperties");
  const double bandwidth = copy_bandwidth();
  const double gemm = gemm_rate(8192);

  const ModelConfig config = ModelConfig::load(model_dir);
  CudaBackend backend(0);
  SingleRankCommunicator communicator;
  const auto load_start = Clock::now();
  Transformer model(config, ShardPlan::make(config, 0, 1), Checkpoint::open(model_dir), backend,
                    communicator);
  backend.synchronize();
  const double load_seconds = seconds_since(load_start);
  const double weight_bytes = 2.0 * static_cast<double>(model.parameter_count());
  // A batch-1 decode step reads every weight once except the embedding table, of which it reads
  // one row, and the experts its token does not choose: of each mixture only top_k experts (the
  // KV cache it also reads is small at these context lengths).
  double step_bytes =
      weight_bytes - 2.0 * static_cast<double>(config.vocab_size * config.hidden_size);
  for (const LayerSpec& layer : config.stack.layers) {
    if (!layer.moe) continue;
    const double expert_bytes = 2.0 * 3.0 * static_cast<double>(config.hidden_size * layer.moe->features);
    step_bytes -= static_cast<double>(layer.moe->num_experts - layer.moe->top_k) * expert_bytes;
  }
  const double roofline = bandwidth / step_bytes;
  // The dtype the backend keeps keys and values in (bf16 on CUDA): what attention reads per token.
  const std::string kv_dtype(to_string(model.allocate_cache(1, kBlockSize).layers.at(0).k.dtype()));

  nlohmann::json decode = nlohmann::json::array();
  double batch1 = 0.0;
  for (const int b : batches) {
    nlohmann::json row = measure_decode(model, b, prompt_tokens, decode_steps, runs);
    if (b == 1) batch1 = row["decode_tokens_per_second"].get<double>();
    decode.push_back(row);
  }
  // Batch 1 once more without CUDA graphs: what the graphs are worth.
  backend.set_decode_graphs(false);
  const double batch1_eager =
      measure_decode(model, 1, prompt_tokens, decode_steps, runs)["decode_tokens_per_second"];
  backend.set_decode_graphs(true);
  const double ttft = time_to_first_token(model, ttft_tokens, runs);

  std::size_t free_bytes = 0, total_bytes = 0;
  cuda_ok(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
  const auto memory = backend.memory_stats();
  const nlohmann::json out = {
      {"bench", "gpu_decode"},
      {"engine", "tessera"},
      {"model", model_dir},
      {"device", props.name},
      {"parameters", model.parameter_count()},
      {"weight_bytes", weight_bytes},
      {"weight_bytes_read_per_decode_step", step_bytes},
      {"load_seconds", load_seconds},
      {"copy_bandwidth_gb_per_second", bandwidth / 1e9},
      {"bf16_gemm_tflops", gemm / 1e12},
      {"decode_roofline_tokens_per_second", roofline},
      {"kv_cache_dtype", kv_dtype},
      {"decode", decode},
      {"batch1_decode_tokens_per_second", batch1},
      {"batch1_decode_tokens_per_second_without_graphs", batch1_eager},
      {"batch1_fraction_of_roofline", batch1 / roofline},
      {"ttft_prompt_tokens", ttft_tokens},
      {"ttft_seconds", ttft},
      {"runs", runs},
      {"memory",
       {{"bytes_in_use", memory.bytes_in_use},
        {"bytes_reserved", memory.bytes_reserved},
        {"peak_bytes_in_use", memory.peak_bytes_in_use},
        {"cuda_malloc_calls", memory.device_allocations},
        {"reuses", memory.reuses},
        {"device_free_bytes", free_bytes},
        {"device_total_bytes", total_bytes},
        {"decode_graphs", backend.decode_graph_count()}}},
  };
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "gpu_decode: %s\n", e.what());
  return 1;
}
