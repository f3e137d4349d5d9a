// What choosing a step's tokens costs on the CUDA backend (Backend::sample_rows: one small upload,
// one kernel, a few bytes back) against copying the logits to the host and sampling there, as
// rank 0 did before. Random logits, vocabulary 128256 (Llama 3); each figure is the median over
// runs of the mean of `repeats` calls, host waits included. Prints one JSON object.
//   gpu_sampling [--vocab 128256] [--batches 1,64] [--runs 5] [--repeats 20]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_args.hpp"
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/sampling/token_sampler.hpp"

namespace {

using tessera::bench::flag_value;
using tessera::bench::int_list;
using tessera::bench::median;

using namespace tessera::runtime;
using Clock = std::chrono::steady_clock;

struct Setting {
  const char* name;
  std::function<void(SamplingParams&)> configure;
};

const std::vector<Setting>& settings() {
  static const std::vector<Setting> all = {
      {"greedy", [](SamplingParams& p) { p.temperature = 0.0f; }},
      {"temperature 0.7", [](SamplingParams& p) { p.temperature = 0.7f; }},
      {"top-k 50", [](SamplingParams& p) { p.temperature = 0.7f; p.top_k = 50; }},
      {"top-p 0.9", [](SamplingParams& p) { p.temperature = 0.7f; p.top_p = 0.9f; }},
      {"top-p 0.9, repetition penalty, 5 logprobs",
       [](SamplingParams& p) {
         p.temperature = 0.7f;
         p.top_p = 0.9f;
         p.repetition_penalty = 1.1f;
         p.logprobs = true;
         p.top_logprobs = 5;
       }},
  };
  return all;
}

// Microseconds per call of `work`, median over runs of the mean of `repeats` calls.
double microseconds(int runs, int repeats, const std::function<void()>& work) {
  work();  // warm-up
  std::vector<double> per_call;
  for (int r = 0; r < runs; ++r) {
    const auto start = Clock::now();
    for (int i = 0; i < repeats; ++i) work();
    per_call.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count() /
                       repeats);
  }
  return median(per_call);
}

}  // namespace

int main(int argc, char** argv) try {
  const std::int64_t vocab = std::stoll(flag_value(argc, argv, "--vocab", "128256"));
  const auto batches = int_list(flag_value(argc, argv, "--batches", "1,64"));
  const int runs = std::stoi(flag_value(argc, argv, "--runs", "5"));
  const int repeats = std::stoi(flag_value(argc, argv, "--repeats", "20"));
  if (vocab < 1 || runs < 1 || repeats < 1 || batches.empty()) {
    std::fprintf(stderr, "gpu_sampling: --vocab, --runs and --repeats must be positive\n");
    return 2;
  }
  CudaBackend backend(0);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  nlohmann::json rows = nlohmann::json::array();
  for (const int batch : batches) {
    std::vector<float> host_logits(static_cast<std::size_t>(batch * vocab));
    for (float& v : host_logits) v = normal(rng);
    const Tensor logits = backend.upload(host_logits, {batch, vocab});
    std::vector<float> copied(host_logits.size());
    // A history of 64 generated tokens per sequence, so that penalties have work to do.
    std::vector<std::int32_t> prompt(64);
    for (auto& id : prompt) id = static_cast<std::int32_t>(rng() % static_cast<unsigned>(vocab));
    for (const Setting& setting : settings()) {
      SamplingParams params;
      setting.configure(params);
      std::vector<SamplingState> states(static_cast<std::size_t>(batch),
                                        SamplingState::start(prompt, params, 5));
      std::vector<RowSample> samples;
      for (int i = 0; i < batch; ++i) samples.push_back({i, &params, &states[static_cast<std::size_t>(i)]});
      std::vector<SampledToken> out(samples.size());
      const double gpu_us =
          microseconds(runs, repeats, [&] { backend.sample_rows(logits, samples, out); });
      const double host_us = microseconds(runs, 1, [&] {
        backend.to_host(logits, copied);
        for (int i = 0; i < batch; ++i) {
          sample_token(std::span<const float>(copied).subspan(static_cast<std::size_t>(i * vocab),
                                                              static_cast<std::size_t>(vocab)),
                       params, states[static_cast<std::size_t>(i)]);
        }
      });
      rows.push_back({{"batch", batch},
                      {"setting", setting.name},
                      {"gpu_microseconds", gpu_us},
                      {"host_microseconds", host_us},
                      {"host_over_gpu", host_us / gpu_us}});
    }
  }
  nlohmann::json result = {{"bench", "gpu_sampling"}, {"vocab", vocab}, {"runs", runs},
                           {"repeats", repeats},     {"rows", rows}};
  std::printf("%s\n", result.dump(2).c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "gpu_sampling: %s\n", e.what());
  return 1;
}
