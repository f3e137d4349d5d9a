// Long prefill chunks: the attention plan (which tokens go to the flash kernel), the flash
// kernel against the CPU backend (GQA, odd groups, padded head sizes, sliding windows, f32 and
// bf16 caches, a step mixing long chunks and single tokens), the bf16 KV cache, and a whole
// fixture model prefilling a prompt long enough to take the flash path. The plan test runs
// everywhere; the others are skipped where no GPU is present.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "runtime/backend/cpu_backend.hpp"
#include "runtime/backend/cuda_attention_plan.hpp"
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/model/shard_plan.hpp"
#include "tests/backend_cuda/cuda_test_support.hpp"
#include "tests/support/batching_scenarios.hpp"
#include "tests/support/fixture_models.hpp"

namespace tessera::testing {
namespace {

using runtime::AttentionShape;
using runtime::ForwardBatch;
using runtime::Tensor;

// Appends positions [first, first + count) of a sequence with block table `table`.
void add_sequence(ForwardBatch& batch, const std::vector<std::int32_t>& table, std::int64_t first,
                  std::int64_t count, std::int64_t block_size) {
  batch.sequences.push_back({std::ssize(batch.positions), count, table});
  for (std::int64_t p = first; p < first + count; ++p) {
    batch.token_ids.push_back(0);
    batch.positions.push_back(static_cast<std::int32_t>(p));
    batch.slots.push_back(static_cast<std::int64_t>(table[static_cast<std::size_t>(p / block_size)]) *
                              block_size +
                          p % block_size);
  }
}

TEST(CudaAttentionPlan, LongChunksGoToFlashTilesHeaviestFirst) {
  ForwardBatch batch;
  const std::vector<std::int32_t> table(64, 0);
  add_sequence(batch, table, 0, 1, 16);        // a decode token: tokens 0
  add_sequence(batch, table, 10, 100, 16);     // a long chunk at positions 10..109: tokens 1..100
  add_sequence(batch, table, 0, 63, 16);       // just below the threshold: tokens 101..163
  add_sequence(batch, table, 200, 64, 16);     // exactly the threshold: tokens 164..227
  const auto plan = runtime::cuda_step::plan_attention(batch, 16);
  ASSERT_FALSE(plan.all_other());
  // 100 tokens in tiles of 16: 7 tiles (the last of 4); 64 tokens: 4 tiles.
  ASSERT_EQ(plan.tile_count(), 11);
  // Sequence 3's tiles reach the furthest positions, so they come first, latest first.
  EXPECT_EQ((std::vector<std::int32_t>(plan.flash_tiles.begin(), plan.flash_tiles.begin() + 3)),
            (std::vector<std::int32_t>{3, 212, 16}));
  const std::vector<std::int32_t> last_tile(plan.flash_tiles.end() - 3, plan.flash_tiles.end());
  EXPECT_EQ(last_tile, (std::vector<std::int32_t>{1, 1, 16}));
  std::int64_t covered = 0;
  std::int32_t previous_last = INT32_MAX;
  for (std::int64_t i = 0; i < plan.tile_count(); ++i) {
    const auto first = plan.flash_tiles[static_cast<std::size_t>(3 * i + 1)];
    const auto count = plan.flash_tiles[static_cast<std::size_t>(3 * i + 2)];
    EXPECT_LE(count, 16);
    const std::int32_t last = batch.positions[static_cast<std::size_t>(first + count - 1)];
    EXPECT_LE(last, previous_last) << "tile " << i;
    previous_last = last;
    covered += count;
  }
  EXPECT_EQ(covered, 164);
  std::vector<std::int32_t> others{0};
  for (std::int32_t t = 101; t <= 163; ++t) others.push_back(t);
  EXPECT_EQ(plan.other_tokens, others);

  // A shape the flash kernel does not take, or only short chunks: no tiles.
  EXPECT_TRUE(runtime::cuda_step::plan_attention(batch, 0).all_other());
  ForwardBatch short_only;
  add_sequence(short_only, table, 0, 63, 16);
  EXPECT_TRUE(runtime::cuda_step::plan_attention(short_only, 16).all_other());
}

// bf16 rounding of queries, keys, values and probabilities against the CPU backend's f32:
// errors of a few 1e-3 on outputs of order 1; a wrong mask or fragment is off by far more.
constexpr double kFlashTolerance = 2e-2;

enum class CacheType { f32, bf16 };

// Runs the same steps of attention on both backends (each step stores its keys and values, so
// later steps see earlier ones' cache) and compares every step's output and the caches.
void compare_steps(const AttentionShape& shape, std::int64_t window, CacheType cache_type,
                   const std::vector<ForwardBatch>& steps, std::int64_t blocks,
                   std::int64_t block_size, const std::string& label) {
  runtime::CudaBackend cuda;
  runtime::CpuBackend cpu;
  const std::vector<std::int64_t> cache_shape{blocks, block_size, shape.kv_heads, shape.head_dim};
  runtime::KvLayer kvg = cache_type == CacheType::bf16
                             ? runtime::KvLayer{cuda.allocate_kv(cache_shape),
                                                cuda.allocate_kv(cache_shape)}
                             : runtime::KvLayer{cuda.allocate(cache_shape), cuda.allocate(cache_shape)};
  ASSERT_EQ(kvg.k.dtype(), cache_type == CacheType::bf16 ? runtime::DType::bf16 : runtime::DType::f32);
  runtime::KvLayer kvc{cpu.allocate(cache_shape), cpu.allocate(cache_shape)};
  unsigned seed = 50;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const ForwardBatch& step = steps[i];
    const std::int64_t rows = std::ssize(step.positions);
    const std::int64_t stride = shape.qkv_width() + 3;  // a row longer than q + k + v
    const auto qkv = random_values(static_cast<std::size_t>(rows * stride), seed++);
    Tensor qg = cuda.upload(qkv, {rows, stride});
    Tensor qc = cpu.upload(qkv, {rows, stride});
    Tensor og = cuda.allocate({rows, shape.q_width()});
    Tensor oc = cpu.allocate({rows, shape.q_width()});
    cuda.attention(qg, shape, kvg, block_size, step, window, og);
    cpu.attention(qc, shape, kvc, block_size, step, window, oc);
    const std::string what = label + " step " + std::to_string(i);
    expect_close(what, host_values(cuda, og), host_values(cpu, oc), kFlashTolerance);
  }
  // The caches hold exactly what was stored, rounded to bf16 for a bf16 cache.
  for (const auto& [g, c, name] : {std::tuple{&kvg.k, &kvc.k, "K"}, std::tuple{&kvg.v, &kvc.v, "V"}}) {
    std::vector<float> want = host_values(cpu, *c);
    if (cache_type == CacheType::bf16) {
      for (float& v : want) v = round_bf16(v);
    }
    expect_close(label + " " + name + " cache", host_values(cuda, *g), want, 0.0);
  }
}

// Two sequences with interleaved, out-of-order blocks: A prefills `first_a` positions, B a
// few; then A continues with `second_a` tokens beside one decode token of B.
void compare_prefill(const AttentionShape& shape, std::int64_t first_a, std::int64_t second_a,
                     std::int64_t window, CacheType cache_type) {
  const std::int64_t block_size = 16;
  const std::int64_t blocks_each = (first_a + second_a + block_size - 1) / block_size + 1;
  std::vector<std::int32_t> table_a;
  std::vector<std::int32_t> table_b;
  for (std::int64_t b = 0; b < blocks_each; ++b) {
    table_a.push_back(static_cast<std::int32_t>(2 * (blocks_each - 1 - b)));  // descending
    table_b.push_back(static_cast<std::int32_t>(2 * b + 1));
  }
  ForwardBatch first;
  add_sequence(first, table_a, 0, first_a, block_size);
  add_sequence(first, table_b, 0, 5, block_size);
  ForwardBatch second;
  add_sequence(second, table_b, 5, 1, block_size);
  add_sequence(second, table_a, first_a, second_a, block_size);
  const std::string label =
      "heads " + std::to_string(shape.heads) + "/" + std::to_string(shape.kv_heads) + " dim " +
      std::to_string(shape.head_dim) + ", chunks " + std::to_string(first_a) + "+" +
      std::to_string(second_a) + ", window " + std::to_string(window) +
      (cache_type == CacheType::bf16 ? ", bf16 cache" : ", f32 cache");
  compare_steps(shape, window, cache_type, {first, second}, 2 * blocks_each, block_size, label);
}

TEST(CudaFlashAttention, PrefillChunksAgreeWithCpu) {
  SKIP_WITHOUT_GPU();
  // Llama-3-8B's heads: group 4, 16 tokens per tile; partial last tiles.
  compare_prefill({32, 8, 128}, 200, 70, 0, CacheType::bf16);
  compare_prefill({32, 8, 128}, 200, 70, 0, CacheType::f32);
  compare_prefill({32, 8, 128}, 150, 100, 48, CacheType::bf16);  // sliding window
  // Group 3 (21 tokens per tile, one padding row), head_dim 16 padded to 32.
  compare_prefill({6, 2, 16}, 130, 64, 0, CacheType::bf16);
  // No GQA (64 tokens per tile), head_dim 96 and 80 padded to 128, 64 with a window.
  compare_prefill({8, 8, 96}, 129, 65, 0, CacheType::f32);
  compare_prefill({4, 2, 80}, 100, 90, 0, CacheType::bf16);
  compare_prefill({12, 2, 64}, 300, 64, 33, CacheType::bf16);
  // Group 64: one token per tile.
  compare_prefill({64, 1, 32}, 70, 64, 0, CacheType::bf16);
}

TEST(CudaFlashAttention, DecodeOverABf16CacheAgreesWithCpu) {
  SKIP_WITHOUT_GPU();
  // A long prefill (flash), then decode steps on the per-token kernel, split along the context.
  const AttentionShape shape{32, 8, 128};
  const std::int64_t block_size = 16;
  std::vector<std::int32_t> table;
  for (std::int32_t b = 0; b < 40; ++b) table.push_back(39 - b);
  std::vector<ForwardBatch> steps(1);
  add_sequence(steps[0], table, 0, 600, block_size);
  for (std::int64_t p = 600; p < 603; ++p) {
    steps.emplace_back();
    add_sequence(steps.back(), table, p, 1, block_size);
  }
  compare_steps(shape, 0, CacheType::bf16, steps, 40, block_size, "600-token prefill + decode");
}

TEST(CudaFlashAttention, LongPromptOnAFixtureModelAgreesWithCpu) {
  SKIP_WITHOUT_GPU();
  const auto names = fixture_model_names();
  ASSERT_FALSE(names.empty());
  for (const std::string& name : names) {
    const auto dir = fixture_models_dir() / name;
    const auto config = runtime::ModelConfig::load(dir);
    const auto checkpoint = runtime::Checkpoint::open(dir);
    runtime::SingleRankCommunicator communicator;
    runtime::CudaBackend cuda;
    runtime::CpuBackend cpu;
    runtime::Transformer on_gpu(config, runtime::ShardPlan::make(config, 0, 1), checkpoint, cuda,
                                communicator);
    runtime::Transformer on_cpu(config, runtime::ShardPlan::make(config, 0, 1), checkpoint, cpu,
                                communicator);
    std::vector<std::int32_t> prompt;
    for (std::int64_t i = 0; i < 150; ++i) {
      prompt.push_back(static_cast<std::int32_t>((i * 7919 + 3) % config.vocab_size));
    }
    const auto want = one_shot_logits(on_cpu, prompt, 16);
    const auto got = one_shot_logits(on_gpu, prompt, 16);
    // The golden tests' tolerance for bf16 weights (cuda_backend_test.cpp).
    const Diff d = diff_of(got, want);
    expect_close(name + " 150-token prompt, last logits", got, want, 0.05 * std::max(1.0, d.max_ref));
  }
}

}  // namespace
}  // namespace tessera::testing
