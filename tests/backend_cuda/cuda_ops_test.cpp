// Each CUDA backend operation against the CPU backend on the same inputs (weights read from a
// fixture checkpoint and rounded to bf16 on the CPU side too, so the only differences are the
// bf16 rounding of a linear's input and f32 summation order). Skipped where no GPU is present.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>

#include "runtime/backend/cpu_backend.hpp"
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/model/shard_plan.hpp"
#include "tests/backend_cuda/cuda_test_support.hpp"
#include "tests/support/fixture_models.hpp"

namespace tessera::testing {
namespace {

using runtime::AttentionShape;
using runtime::CpuBackend;
using runtime::CudaBackend;
using runtime::ForwardBatch;
using runtime::Tensor;


// ---------------------------------------------------------------------------------------------
// (1) Operations against the CPU backend.

class CudaOps : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_GPU();
    const auto names = fixture_model_names();
    ASSERT_FALSE(names.empty()) << "no fixture models in " << fixture_models_dir();
    dir_ = fixture_models_dir() / (std::find(names.begin(), names.end(), "qwen2_bias") != names.end()
                                       ? std::string("qwen2_bias")
                                       : names.front());
    checkpoint_ = std::make_unique<runtime::Checkpoint>(runtime::Checkpoint::open(dir_));
    cuda_ = std::make_unique<CudaBackend>();
  }

  // The same checkpoint tensor on both backends; the CPU copy rounded to bf16 like the GPU's.
  std::pair<runtime::Weight, runtime::Weight> matrix(const std::string& name,
                                                     std::vector<std::int64_t> shape) {
    const runtime::WeightPiece piece{name, {}, shape[0]};
    runtime::Weight on_gpu = cuda_->load_weight(*checkpoint_, std::span(&piece, 1), shape);
    runtime::Weight on_cpu = cpu_.load_weight(*checkpoint_, std::span(&piece, 1), shape);
    for (std::int64_t i = 0; i < on_cpu.numel(); ++i) {
      on_cpu.data.data<float>()[i] = round_bf16(on_cpu.data.data<float>()[i]);
    }
    return {on_gpu, on_cpu};
  }
  // A norm weight, bias or table: the held tensor alone.
  std::pair<Tensor, Tensor> weight(const std::string& name, std::vector<std::int64_t> shape) {
    auto [on_gpu, on_cpu] = matrix(name, std::move(shape));
    return {on_gpu.data, on_cpu.data};
  }

  std::pair<Tensor, Tensor> input(const std::vector<float>& values,
                                  std::vector<std::int64_t> shape) {
    return {cuda_->upload(values, shape), cpu_.upload(values, shape)};
  }

  std::filesystem::path dir_;
  std::unique_ptr<runtime::Checkpoint> checkpoint_;
  std::unique_ptr<CudaBackend> cuda_;
  CpuBackend cpu_;
};

TEST_F(CudaOps, WeightsRoundTripAsBf16) {
  const auto config = runtime::ModelConfig::load(dir_);
  auto [g, c] = weight("model.embed_tokens.weight", {config.vocab_size, config.hidden_size});
  expect_close("embed_tokens read back", host_values(*cuda_, g), host_values(cpu_, c), 0.0);
}

TEST_F(CudaOps, LinearWithAndWithoutBias) {
  const auto config = runtime::ModelConfig::load(dir_);
  const std::int64_t hidden = config.hidden_size;
  const std::int64_t q_rows = config.num_attention_heads * config.head_dim;
  auto [wg, wc] = matrix("model.layers.0.self_attn.q_proj.weight", {q_rows, hidden});
  for (const std::int64_t n : {std::int64_t{1}, std::int64_t{7}}) {
    const auto x_values = random_values(static_cast<std::size_t>(n * hidden), 1);
    auto [xg, xc] = input(x_values, {n, hidden});
    Tensor og = cuda_->allocate({n, q_rows});
    Tensor oc = cpu_.allocate({n, q_rows});
    cuda_->linear(xg, wg, nullptr, og);
    cpu_.linear(xc, wc, nullptr, oc);
    const auto want = host_values(cpu_, oc);
    const double tol = 2e-2 * std::max(1.0, diff_of(want, want).max_ref);
    expect_close("linear q_proj n=" + std::to_string(n), host_values(*cuda_, og), want, tol);
    if (checkpoint_->contains("model.layers.0.self_attn.q_proj.bias")) {
      auto [bg, bc] = weight("model.layers.0.self_attn.q_proj.bias", {q_rows});
      cuda_->linear(xg, wg, &bg, og);
      cpu_.linear(xc, wc, &bc, oc);
      const auto want_b = host_values(cpu_, oc);
      expect_close("linear q_proj + bias n=" + std::to_string(n), host_values(*cuda_, og),
                   want_b, 2e-2 * std::max(1.0, diff_of(want_b, want_b).max_ref));
    }
  }
  // A non-square, larger product: the lm_head (vocab rows).
  const std::string head = config.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  auto [hg, hc] = matrix(head, {config.vocab_size, hidden});
  const auto x_values = random_values(static_cast<std::size_t>(3 * hidden), 2);
  auto [xg, xc] = input(x_values, {3, hidden});
  Tensor og = cuda_->allocate({3, config.vocab_size});
  Tensor oc = cpu_.allocate({3, config.vocab_size});
  cuda_->linear(xg, hg, nullptr, og);
  cpu_.linear(xc, hc, nullptr, oc);
  const auto want = host_values(cpu_, oc);
  expect_close("linear lm_head n=3", host_values(*cuda_, og), want,
               2e-2 * std::max(1.0, diff_of(want, want).max_ref));
  EXPECT_EQ(cuda_->argmax_rows(og), cpu_.argmax_rows(oc)) << "argmax of the lm_head product";
}

TEST_F(CudaOps, EmbeddingNormsAndElementwise) {
  const auto config = runtime::ModelConfig::load(dir_);
  const std::int64_t hidden = config.hidden_size;
  const float eps = static_cast<float>(config.rms_norm_eps);
  auto [eg, ec] = weight("model.embed_tokens.weight", {config.vocab_size, hidden});
  const std::vector<std::int32_t> ids{0, 5, static_cast<std::int32_t>(config.vocab_size - 1), 5};
  const std::int64_t n = std::ssize(ids);
  Tensor xg = cuda_->allocate({n, hidden});
  Tensor xc = cpu_.allocate({n, hidden});
  cuda_->embedding(eg, ids, xg);
  cpu_.embedding(ec, ids, xc);
  expect_close("embedding", host_values(*cuda_, xg), host_values(cpu_, xc), 0.0);

  auto [ng, nc] = weight("model.layers.0.input_layernorm.weight", {hidden});
  const auto r_values = random_values(static_cast<std::size_t>(n * hidden), 3, 2.0f);
  auto [rg, rc] = input(r_values, {n, hidden});
  Tensor og = cuda_->allocate({n, hidden});
  Tensor oc = cpu_.allocate({n, hidden});
  cuda_->rms_norm(rg, ng, eps, 0.0f, og);
  cpu_.rms_norm(rc, nc, eps, 0.0f, oc);
  expect_close("rms_norm", host_values(*cuda_, og), host_values(cpu_, oc), 1e-4);
  cuda_->rms_norm(og, ng, eps, 0.0f, og);  // in place, as the transformer's final norm does
  cpu_.rms_norm(oc, nc, eps, 0.0f, oc);
  expect_close("rms_norm in place", host_values(*cuda_, og), host_values(cpu_, oc), 1e-4);

  cuda_->add_rms_norm(rg, xg, ng, eps, 0.0f, og);
  cpu_.add_rms_norm(rc, xc, nc, eps, 0.0f, oc);
  expect_close("add_rms_norm residual", host_values(*cuda_, rg), host_values(cpu_, rc), 1e-5);
  expect_close("add_rms_norm out", host_values(*cuda_, og), host_values(cpu_, oc), 1e-4);

  cuda_->add(rg, xg);
  cpu_.add(rc, xc);
  expect_close("add", host_values(*cuda_, rg), host_values(cpu_, rc), 1e-5);

  const std::int64_t width = 24;
  const auto gu_values = random_values(static_cast<std::size_t>(n * 2 * width), 4, 3.0f);
  auto [gug, guc] = input(gu_values, {n, 2 * width});
  Tensor sg = cuda_->allocate({n, width});
  Tensor sc = cpu_.allocate({n, width});
  cuda_->silu_mul(gug, sg);
  cpu_.silu_mul(guc, sc);
  expect_close("silu_mul", host_values(*cuda_, sg), host_values(cpu_, sc), 1e-4);

  const std::vector<std::int64_t> rows{3, 0, 2};
  Tensor gg = cuda_->allocate({3, hidden});
  Tensor gc = cpu_.allocate({3, hidden});
  cuda_->gather_rows(rg, rows, gg);
  cpu_.gather_rows(rc, rows, gc);
  expect_close("gather_rows", host_values(*cuda_, gg), host_values(cpu_, gc), 0.0);

  std::vector<float> logits = random_values(3 * 1000, 5);
  logits[1000 + 17] = 50.0f;
  logits[1000 + 900] = 50.0f;  // a tie: the first index wins
  auto [lg, lc] = input(logits, {3, 1000});
  EXPECT_EQ(cuda_->argmax_rows(lg), cpu_.argmax_rows(lc)) << "argmax_rows";
  EXPECT_EQ(cuda_->argmax_rows(lg).at(1), 17) << "argmax_rows tie-break";
}

TEST_F(CudaOps, QkNormRopeAndPagedAttention) {
  // A synthetic shape: 6 query heads over 2 kv heads (GQA group 3), head_dim 16, an extra
  // column at the end of each row so stride != q + 2 kv.
  const AttentionShape shape{6, 2, 16};
  const std::int64_t stride = shape.qkv_width() + 5;
  const std::int64_t block_size = 4;
  const std::int64_t blocks = 12;
  const std::int64_t tokens = 11;
  const auto qkv_values = random_values(static_cast<std::size_t>(tokens * stride), 6);
  auto [qg, qc] = input(qkv_values, {tokens, stride});

  // qk_norm takes bf16 weights, which only load_weight makes: use the first head_dim values of
  // a checkpoint norm weight.
  const auto config = runtime::ModelConfig::load(dir_);
  ASSERT_GE(config.hidden_size, shape.head_dim);
  const runtime::WeightPiece piece{"model.layers.0.input_layernorm.weight", {0, shape.head_dim},
                                   shape.head_dim};
  Tensor wg = cuda_->load_weight(*checkpoint_, std::span(&piece, 1), {shape.head_dim}).data;
  Tensor wc = cpu_.load_weight(*checkpoint_, std::span(&piece, 1), {shape.head_dim}).data;
  for (std::int64_t i = 0; i < wc.numel(); ++i) wc.data<float>()[i] = round_bf16(wc.data<float>()[i]);
  cuda_->qk_norm(qg, shape, wg, wg, 1e-6f, 0.0f);
  cpu_.qk_norm(qc, shape, wc, wc, 1e-6f, 0.0f);
  expect_close("qk_norm", host_values(*cuda_, qg), host_values(cpu_, qc), 1e-4);

  // Two sequences: A has 3 cached tokens (positions 0..2) and 4 new ones (3..6); B has 4 new
  // (0..3); tables out of order.
  const std::vector<std::int32_t> table_a{7, 2, 9};
  const std::vector<std::int32_t> table_b{4, 11};
  // Step 0 fills A's first 3 positions and B is absent; step 1 is A's 4 + B's 4.
  std::vector<float> inv_freq(static_cast<std::size_t>(shape.head_dim / 2));
  for (std::size_t j = 0; j < inv_freq.size(); ++j) {
    inv_freq[j] = std::pow(10000.0f, -2.0f * static_cast<float>(j) / static_cast<float>(shape.head_dim));
  }
  Tensor fg = cuda_->upload(inv_freq, {std::ssize(inv_freq)});
  Tensor fc = cpu_.upload(inv_freq, {std::ssize(inv_freq)});
  const std::vector<std::int64_t> cache_shape{blocks, block_size, shape.kv_heads, shape.head_dim};
  runtime::KvLayer kvg{cuda_->allocate(cache_shape), cuda_->allocate(cache_shape)};
  runtime::KvLayer kvc{cpu_.allocate(cache_shape), cpu_.allocate(cache_shape)};
  auto slot = [&](const std::vector<std::int32_t>& table, std::int64_t pos) {
    return static_cast<std::int64_t>(table[static_cast<std::size_t>(pos / block_size)]) * block_size +
           pos % block_size;
  };
  ForwardBatch first;
  first.sequences.push_back({0, 3, table_a});
  for (std::int64_t p = 0; p < 3; ++p) {
    first.token_ids.push_back(1);
    first.positions.push_back(static_cast<std::int32_t>(p));
    first.slots.push_back(slot(table_a, p));
  }
  ForwardBatch second;
  second.sequences.push_back({0, 4, table_a});
  second.sequences.push_back({4, 4, table_b});
  for (std::int64_t p = 3; p < 7; ++p) {
    second.token_ids.push_back(1);
    second.positions.push_back(static_cast<std::int32_t>(p));
    second.slots.push_back(slot(table_a, p));
  }
  for (std::int64_t p = 0; p < 4; ++p) {
    second.token_ids.push_back(1);
    second.positions.push_back(static_cast<std::int32_t>(p));
    second.slots.push_back(slot(table_b, p));
  }
  ASSERT_EQ(std::ssize(first.positions) + std::ssize(second.positions), tokens) << "test setup";

  // The qkv rows of step 0 are rows 0..2 of qkv_values, of step 1 rows 3..10 (after qk_norm).
  const auto normed_g = host_values(*cuda_, qg);
  const auto normed_c = host_values(cpu_, qc);
  for (const std::int64_t window : {std::int64_t{0}, std::int64_t{3}}) {
    // Fresh caches per window so each run starts from the same state.
    kvg = {cuda_->allocate(cache_shape), cuda_->allocate(cache_shape)};
    kvc = {cpu_.allocate(cache_shape), cpu_.allocate(cache_shape)};
    std::int64_t row0 = 0;
    for (ForwardBatch* step : {&first, &second}) {
      const std::int64_t n = std::ssize(step->positions);
      const auto begin = static_cast<std::ptrdiff_t>(row0 * stride);
      const auto end = static_cast<std::ptrdiff_t>((row0 + n) * stride);
      std::vector<float> rows_g(normed_g.begin() + begin, normed_g.begin() + end);
      std::vector<float> rows_c(normed_c.begin() + begin, normed_c.begin() + end);
      Tensor sg = cuda_->upload(rows_g, {n, stride});
      Tensor sc = cpu_.upload(rows_c, {n, stride});
      cuda_->rope(sg, shape, fg, step->positions);
      cpu_.rope(sc, shape, fc, step->positions);
      const std::string label = "window " + std::to_string(window) + " step rows " +
                                std::to_string(row0) + ".." + std::to_string(row0 + n - 1);
      expect_close("rope, " + label, host_values(*cuda_, sg), host_values(cpu_, sc), 1e-4);
      Tensor og = cuda_->allocate({n, shape.q_width()});
      Tensor oc = cpu_.allocate({n, shape.q_width()});
      cuda_->attention(sg, shape, kvg, block_size, *step, window, og);
      cpu_.attention(sc, shape, kvc, block_size, *step, window, oc);
      expect_close("attention, " + label, host_values(*cuda_, og), host_values(cpu_, oc), 1e-4);
      expect_close("K cache, " + label, host_values(*cuda_, kvg.k), host_values(cpu_, kvc.k), 1e-4);
      expect_close("V cache, " + label, host_values(*cuda_, kvg.v), host_values(cpu_, kvc.v), 1e-4);
      row0 += n;
    }
  }
}

// rope_attention's fused kernel (rotate, store the rotated keys and the values, attend) against
// rope then attention on the same backend: the same f32 rotation and the same roundings, so the
// rotated rows, both caches and the output agree bit for bit; with an f32 and a bf16 cache, and
// the output in f32 and in bf16 (the type of a linear's input).
TEST_F(CudaOps, RopeAttentionMatchesRopeThenAttention) {
  const AttentionShape shape{8, 2, 64};
  const std::int64_t stride = shape.qkv_width() + 3;
  const std::int64_t block_size = 16;
  const std::int64_t blocks = 6;
  std::vector<float> inv_freq(static_cast<std::size_t>(shape.head_dim / 2));
  for (std::size_t j = 0; j < inv_freq.size(); ++j) {
    inv_freq[j] = std::pow(500000.0f, -2.0f * static_cast<float>(j) / static_cast<float>(shape.head_dim));
  }
  Tensor freq = cuda_->upload(inv_freq, {std::ssize(inv_freq)});
  const std::vector<std::int32_t> table{3, 0, 5, 1};
  // A prefill of 40 tokens, then a decode step at position 40 (long enough for several splits).
  ForwardBatch prefill;
  prefill.sequences.push_back({0, 40, table});
  for (std::int32_t p = 0; p < 40; ++p) {
    prefill.token_ids.push_back(1);
    prefill.positions.push_back(p);
    prefill.slots.push_back(table[static_cast<std::size_t>(p / block_size)] * block_size +
                            p % block_size);
  }
  ForwardBatch decode;
  decode.sequences.push_back({0, 1, table});
  decode.token_ids.push_back(1);
  decode.positions.push_back(40);
  decode.slots.push_back(table[40 / block_size] * block_size + 40 % block_size);

  const std::vector<std::int64_t> cache_shape{blocks, block_size, shape.kv_heads, shape.head_dim};
  const std::vector<float> zeros(
      static_cast<std::size_t>(blocks * block_size * shape.kv_heads * shape.head_dim), 0.0f);
  for (const bool bf16_cache : {false, true}) {
    for (const bool bf16_out : {false, true}) {
      auto new_cache = [&] {
        return bf16_cache ? runtime::KvLayer{cuda_->allocate_kv(cache_shape),
                                             cuda_->allocate_kv(cache_shape)}
                          : runtime::KvLayer{cuda_->upload(zeros, cache_shape),
                                             cuda_->upload(zeros, cache_shape)};
      };
      runtime::KvLayer separate = new_cache();
      runtime::KvLayer fused = new_cache();
      int seed = 30;
      for (const ForwardBatch* step : {&prefill, &decode}) {
        const std::int64_t n = std::ssize(step->positions);
        const auto values = random_values(static_cast<std::size_t>(n * stride), seed++);
        Tensor a = cuda_->upload(values, {n, stride});
        Tensor b = cuda_->upload(values, {n, stride});
        Tensor out_a = bf16_out ? cuda_->allocate_linear_input({n, shape.q_width()})
                                : cuda_->allocate({n, shape.q_width()});
        Tensor out_b = bf16_out ? cuda_->allocate_linear_input({n, shape.q_width()})
                                : cuda_->allocate({n, shape.q_width()});
        cuda_->rope(a, shape, freq, step->positions);
        cuda_->attention(a, shape, separate, block_size, *step, 0, out_a);
        cuda_->rope_attention(b, shape, freq, fused, block_size, *step, 0, out_b);
        const std::string label = std::string(bf16_cache ? "bf16" : "f32") + " cache, " +
                                  (bf16_out ? "bf16" : "f32") + " out, " + std::to_string(n) +
                                  " tokens";
        EXPECT_EQ(host_values(*cuda_, a), host_values(*cuda_, b)) << "rotated qkv, " << label;
        EXPECT_EQ(host_values(*cuda_, out_a), host_values(*cuda_, out_b)) << "output, " << label;
        EXPECT_EQ(host_values(*cuda_, separate.k), host_values(*cuda_, fused.k)) << "K, " << label;
        EXPECT_EQ(host_values(*cuda_, separate.v), host_values(*cuda_, fused.v)) << "V, " << label;
      }
    }
  }
}

}  // namespace
}  // namespace tessera::testing
