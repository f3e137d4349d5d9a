// AttentionShape's softmax scale: 1/sqrt(head_dim) unless attention_scale is set (Gemma 3 sets
// query_pre_attn_scalar^-0.5), and the CPU backend's attention uses it: checked against
// softmax(scale · q·kᵀ)·v written out here in double.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "runtime/backend/cpu_backend.hpp"

namespace tessera::runtime {
namespace {

TEST(AttentionShape, SoftmaxScaleDefaultsToInverseSqrtOfHeadDim) {
  AttentionShape shape{.heads = 2, .kv_heads = 1, .head_dim = 16};
  EXPECT_FLOAT_EQ(shape.softmax_scale(), 0.25f);
  shape.attention_scale = 0.125f;
  EXPECT_FLOAT_EQ(shape.softmax_scale(), 0.125f);
}

// One sequence of three tokens, one query head over one kv head of dimension 2, in one block:
// small enough to write the expected output by formula.
std::vector<float> attend(const AttentionShape& shape, const std::vector<float>& qkv_rows) {
  CpuBackend backend;
  const std::int64_t tokens = 3;
  Tensor qkv = backend.upload(qkv_rows, {tokens, shape.qkv_width()});
  KvLayer kv{backend.allocate_kv({4, shape.kv_width()}), backend.allocate_kv({4, shape.kv_width()})};
  ForwardBatch batch;
  batch.token_ids = {0, 0, 0};
  batch.positions = {0, 1, 2};
  batch.slots = {0, 1, 2};
  batch.sequences = {SequenceInBatch{0, tokens, {0}}};
  Tensor out = backend.allocate({tokens, shape.q_width()});
  backend.attention(qkv, shape, kv, 4, batch, 0, out);
  std::vector<float> host(static_cast<std::size_t>(out.numel()));
  backend.to_host(out, host);
  return host;
}

std::vector<double> expected_attention(double scale, const std::vector<float>& rows) {
  // Row t holds q (2 values), k (2), v (2).
  std::vector<double> out;
  for (int t = 0; t < 3; ++t) {
    std::vector<double> weights;
    double total = 0.0;
    for (int s = 0; s <= t; ++s) {
      const double dot = double(rows[t * 6]) * rows[s * 6 + 2] + double(rows[t * 6 + 1]) * rows[s * 6 + 3];
      weights.push_back(std::exp(scale * dot));
      total += weights.back();
    }
    for (int j = 0; j < 2; ++j) {
      double value = 0.0;
      for (int s = 0; s <= t; ++s) value += weights[s] / total * rows[s * 6 + 4 + j];
      out.push_back(value);
    }
  }
  return out;
}

TEST(CpuAttention, UsesTheShapesSoftmaxScale) {
  const std::vector<float> rows = {1.0f,  2.0f, 0.5f, -1.0f, 1.0f, 0.0f,    // token 0
                                   -1.0f, 1.5f, 2.0f, 1.0f,  0.0f, 1.0f,    // token 1
                                   0.5f,  3.0f, -1.5f, 2.5f, -2.0f, 3.0f};  // token 2
  AttentionShape shape{.heads = 1, .kv_heads = 1, .head_dim = 2};
  for (const float attention_scale : {0.0f, 0.3f, 2.0f}) {
    shape.attention_scale = attention_scale;
    const double scale = attention_scale != 0.0f ? attention_scale : 1.0 / std::sqrt(2.0);
    const auto actual = attend(shape, rows);
    const auto expected = expected_attention(scale, rows);
    ASSERT_EQ(actual.size(), expected.size());
    for (std::size_t i = 0; i < actual.size(); ++i) {
      EXPECT_NEAR(actual[i], expected[i], 1e-5) << "attention_scale " << attention_scale << " at " << i;
    }
  }
}

}  // namespace
}  // namespace tessera::runtime
