// The decode path: attention over long contexts (split along the sequence for short batches,
// whole for long ones) against the CPU backend, and decode steps replayed as CUDA graphs giving
// exactly what eager steps give. Skipped where no GPU is present.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "runtime/backend/cpu_backend.hpp"
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/model/shard_plan.hpp"
#include "tests/backend_cuda/cuda_test_support.hpp"
#include "tests/support/fixture_models.hpp"

namespace tessera::testing {
namespace {

using runtime::AttentionShape;
using runtime::ForwardBatch;
using runtime::Tensor;

// `tokens` new tokens per sequence at the end of `context` positions, for each of `sequences`
// sequences whose blocks interleave (sequence s owns blocks s, s + S, s + 2S, …).
ForwardBatch tail_batch(std::int64_t sequences, std::int64_t context, std::int64_t tokens,
                        std::int64_t block_size, std::int64_t blocks_per_sequence) {
  ForwardBatch batch;
  for (std::int64_t s = 0; s < sequences; ++s) {
    std::vector<std::int32_t> table;
    for (std::int64_t b = 0; b < blocks_per_sequence; ++b) {
      table.push_back(static_cast<std::int32_t>(b * sequences + s));
    }
    batch.sequences.push_back({static_cast<std::int64_t>(batch.positions.size()), tokens, table});
    for (std::int64_t p = context - tokens; p < context; ++p) {
      batch.token_ids.push_back(0);
      batch.positions.push_back(static_cast<std::int32_t>(p));
      batch.slots.push_back(table[static_cast<std::size_t>(p / block_size)] * block_size +
                            p % block_size);
    }
  }
  return batch;
}

// Fills the caches of both backends with the same random keys and values, then runs one
// attention call of `batch` on each and compares.
void compare_attention(const AttentionShape& shape, std::int64_t sequences, std::int64_t context,
                       std::int64_t tokens, std::int64_t window) {
  runtime::CudaBackend cuda;
  runtime::CpuBackend cpu;
  const std::int64_t block_size = 16;
  const std::int64_t blocks_per_sequence = (context + block_size - 1) / block_size;
  const std::int64_t blocks = blocks_per_sequence * sequences;
  const std::vector<std::int64_t> cache_shape{blocks, block_size, shape.kv_heads, shape.head_dim};
  const auto cache_size = static_cast<std::size_t>(blocks * block_size * shape.kv_width());
  const auto k_values = random_values(cache_size, 31);
  const auto v_values = random_values(cache_size, 32);
  runtime::KvLayer kvg{cuda.upload(k_values, cache_shape), cuda.upload(v_values, cache_shape)};
  runtime::KvLayer kvc{cpu.upload(k_values, cache_shape), cpu.upload(v_values, cache_shape)};

  const ForwardBatch batch = tail_batch(sequences, context, tokens, block_size, blocks_per_sequence);
  const std::int64_t rows = std::ssize(batch.positions);
  const auto qkv = random_values(static_cast<std::size_t>(rows * shape.qkv_width()), 33);
  Tensor qg = cuda.upload(qkv, {rows, shape.qkv_width()});
  Tensor qc = cpu.upload(qkv, {rows, shape.qkv_width()});
  Tensor og = cuda.allocate({rows, shape.q_width()});
  Tensor oc = cpu.allocate({rows, shape.q_width()});
  cuda.attention(qg, shape, kvg, block_size, batch, window, og);
  cpu.attention(qc, shape, kvc, block_size, batch, window, oc);
  expect_close("attention heads " + std::to_string(shape.heads) + "/" +
                   std::to_string(shape.kv_heads) + " dim " + std::to_string(shape.head_dim) +
                   ", " + std::to_string(sequences) + " sequences x " + std::to_string(tokens) +
                   " tokens at context " + std::to_string(context) + ", window " +
                   std::to_string(window),
               host_values(cuda, og), host_values(cpu, oc), 1e-4);
}

TEST(CudaDecodeAttention, LongContextsAgreeWithCpu) {
  SKIP_WITHOUT_GPU();
  // Decode-sized batches: split along the sequence (several splits, a partial last one).
  compare_attention({32, 8, 128}, 1, 1000, 1, 0);
  compare_attention({32, 8, 128}, 3, 333, 1, 0);
  compare_attention({32, 8, 128}, 2, 700, 1, 100);  // sliding window
  compare_attention({12, 2, 64}, 2, 257, 2, 0);     // group 6: tiles of 8 heads, 2 unused
  compare_attention({20, 2, 96}, 1, 130, 1, 0);     // group 10: two tiles; head_dim 96
  compare_attention({4, 4, 256}, 1, 200, 1, 0);     // no GQA, the widest head
  // A chunk that fills the device by itself but stays under the flash kernel's threshold (64
  // new tokens, cuda_attention_plan.hpp): one block walks all of a token's positions. Longer
  // chunks go to the flash kernel, held to bf16 tolerances in cuda_flash_attention_test.cpp.
  compare_attention({32, 8, 128}, 1, 600, 48, 0);
  compare_attention({32, 8, 128}, 1, 600, 40, 64);
}

// Runs a prefill of `prompts`, then `steps` decode steps of all sequences together, returning
// every step's logits.
std::vector<std::vector<float>> decode_logits(runtime::Transformer& model,
                                              const std::vector<std::vector<std::int32_t>>& prompts,
                                              std::int64_t steps) {
  const std::int64_t block_size = 4;
  const std::int64_t blocks_each = 16;
  auto cache = model.allocate_cache(blocks_each * std::ssize(prompts), block_size);
  std::vector<std::vector<std::int32_t>> tables;
  for (std::size_t s = 0; s < prompts.size(); ++s) {
    std::vector<std::int32_t> table(static_cast<std::size_t>(blocks_each));
    std::iota(table.begin(), table.end(), static_cast<std::int32_t>(s * blocks_each));
    tables.push_back(table);
  }
  auto slot = [&](std::size_t s, std::int64_t p) {
    return static_cast<std::int64_t>(tables[s][static_cast<std::size_t>(p / block_size)]) *
               block_size + p % block_size;
  };
  std::vector<std::vector<float>> out;
  std::vector<std::int64_t> lengths;
  std::vector<std::int32_t> next;
  {
    ForwardBatch prefill;
    for (std::size_t s = 0; s < prompts.size(); ++s) {
      prefill.sequences.push_back({std::ssize(prefill.token_ids), std::ssize(prompts[s]), tables[s]});
      for (std::size_t p = 0; p < prompts[s].size(); ++p) {
        prefill.token_ids.push_back(prompts[s][p]);
        prefill.positions.push_back(static_cast<std::int32_t>(p));
        prefill.slots.push_back(slot(s, static_cast<std::int64_t>(p)));
      }
      lengths.push_back(std::ssize(prompts[s]));
    }
    next = model.backend().argmax_rows(model.forward(prefill, cache));
  }
  for (std::int64_t step = 0; step < steps; ++step) {
    ForwardBatch batch;
    for (std::size_t s = 0; s < prompts.size(); ++s) {
      batch.sequences.push_back({static_cast<std::int64_t>(s), 1, tables[s]});
      batch.token_ids.push_back(next[s]);
      batch.positions.push_back(static_cast<std::int32_t>(lengths[s]));
      batch.slots.push_back(slot(s, lengths[s]));
      ++lengths[s];
    }
    const Tensor logits = model.forward(batch, cache);
    out.push_back(host_values(model.backend(), logits));
    next = model.backend().argmax_rows(logits);
  }
  return out;
}

TEST(CudaDecodeGraphs, ReplayedStepsGiveExactlyWhatEagerStepsGive) {
  SKIP_WITHOUT_GPU();
  const auto names = fixture_model_names();
  ASSERT_FALSE(names.empty());
  for (const std::string& name : names) {
    const auto dir = fixture_models_dir() / name;
    const auto config = runtime::ModelConfig::load(dir);
    const auto checkpoint = runtime::Checkpoint::open(dir);
    runtime::SingleRankCommunicator communicator;
    runtime::CudaBackend eager_backend;
    eager_backend.set_decode_graphs(false);
    runtime::CudaBackend graph_backend;
    runtime::Transformer eager(config, runtime::ShardPlan::make(config, 0, 1), checkpoint,
                               eager_backend, communicator);
    runtime::Transformer graphed(config, runtime::ShardPlan::make(config, 0, 1), checkpoint,
                                 graph_backend, communicator);
    for (const std::size_t batch : {std::size_t{1}, std::size_t{3}}) {
      std::vector<std::vector<std::int32_t>> prompts;
      for (std::size_t s = 0; s < batch; ++s) {
        prompts.push_back({1, static_cast<std::int32_t>(2 + s), 7, 3, static_cast<std::int32_t>(5 * s + 1)});
      }
      // 20 steps: eager, capture, then replays, across block boundaries and a table that grows.
      const auto want = decode_logits(eager, prompts, 20);
      const auto got = decode_logits(graphed, prompts, 20);
      ASSERT_EQ(got.size(), want.size());
      for (std::size_t step = 0; step < want.size(); ++step) {
        ASSERT_EQ(got[step], want[step]) << name << " batch " << batch << " step " << step;
      }
    }
    EXPECT_GE(graph_backend.decode_graph_count(), 2u) << name;
    EXPECT_EQ(eager_backend.decode_graph_count(), 0u) << name;
  }
}

}  // namespace
}  // namespace tessera::testing
