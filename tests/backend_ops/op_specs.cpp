// The op table: one spec per Backend op (see op_spec.hpp). Shapes are chosen to reach each
// backend's separate code paths: rows of the CUDA norms above and below the register kernel's
// limit, gated activations of widths the vector kernel takes and ones it does not, products on
// both sides of the GEMV threshold.
#include <algorithm>
#include <cmath>
#include <utility>

#include "tests/backend_ops/op_spec.hpp"
#include "tests/backend_ops/reference_ops.hpp"
#include "tests/backend_ops/spec_inputs.hpp"

namespace tessera::backend_ops {
namespace {

using runtime::AttentionShape;
using runtime::Backend;
using runtime::ForwardBatch;
using runtime::KvLayer;
using runtime::SequenceInBatch;
using runtime::Tensor;

// Tolerances. CUDA weights are the same bf16 values, its sums are f32 in another order, and an
// output that only feeds a product (allocate_linear_input) is rounded to bf16: 2^-8 relative.
constexpr Tolerance kExactF32{1e-5, 1e-5};
constexpr Tolerance kCudaF32{2e-5, 2e-5};
constexpr Tolerance kCudaBf16Out{1e-5, 1.0 / 256};

// ---------------------------------------------------------------------------------------------
// Norms: dims {rows, dim}, param the weight offset.

std::vector<OpCase> norm_cases() {
  return {{"3x64", {3, 64}, 0.0f},
          {"5x1000 offset 1", {5, 1000}, 1.0f},
          {"2x300 offset 1", {2, 300}, 1.0f},
          {"2x9000 (past the register kernel)", {2, 9000}, 0.0f}};
}

OpInputs norm_inputs(const OpCase& c, std::mt19937& rng) {
  // Gemma's stored weights sit around 0 (scale 1 + w); others around 1.
  const float mean = c.param == 0.0f ? 1.0f : 0.0f;
  return {{normal(rng, {c.dims[0], c.dims[1]}), normal(rng, {c.dims[0], c.dims[1]})},
          {weight(rng, {c.dims[1]}, 0.3f, mean)},
          {}};
}

constexpr float kEps = 1e-5f;

enum class NormOut { activation, linear_input, in_place };

OpSpec rms_norm_spec(std::string name, NormOut where) {
  OpSpec spec;
  spec.name = std::move(name);
  spec.cases = norm_cases();
  spec.generate = norm_inputs;
  spec.run = [where](Backend& b, const OpCase& c, const OpInputs&, OpTensors& t) {
    Tensor& x = t.activations[0];
    Tensor out = where == NormOut::in_place       ? x
                 : where == NormOut::linear_input ? b.allocate_linear_input(x.shape())
                                                  : b.allocate(x.shape());
    b.rms_norm(x, t.weights[0].data, kEps, c.param, out);
    return std::vector<Tensor>{out};
  };
  spec.reference = [](const OpCase& c, const OpInputs& in) {
    return std::vector<HostTensor>{
        {in.activations[0].shape, reference::rms_norm(in.activations[0].values, c.dims[1],
                                                      in.weights[0].values, kEps, c.param)}};
  };
  spec.cpu = kExactF32;
  spec.cuda = where == NormOut::linear_input ? kCudaBf16Out : kCudaF32;
  return spec;
}

OpSpec add_rms_norm_spec(std::string name, NormOut where) {
  OpSpec spec;
  spec.name = std::move(name);
  spec.cases = norm_cases();
  spec.generate = norm_inputs;
  spec.run = [where](Backend& b, const OpCase& c, const OpInputs&, OpTensors& t) {
    Tensor& residual = t.activations[0];
    Tensor out = where == NormOut::linear_input ? b.allocate_linear_input(residual.shape())
                                                : b.allocate(residual.shape());
    b.add_rms_norm(residual, t.activations[1], t.weights[0].data, kEps, c.param, out);
    return std::vector<Tensor>{out, residual};
  };
  spec.reference = [](const OpCase& c, const OpInputs& in) {
    HostTensor sum = in.activations[0];
    for (std::size_t i = 0; i < sum.values.size(); ++i) sum.values[i] += in.activations[1].values[i];
    HostTensor out{sum.shape, reference::rms_norm(sum.values, c.dims[1], in.weights[0].values,
                                                  kEps, c.param)};
    return std::vector<HostTensor>{out, sum};
  };
  spec.cpu = kExactF32;
  spec.cuda = where == NormOut::linear_input ? kCudaBf16Out : kCudaF32;
  return spec;
}

// dims {tokens, heads, kv_heads, head_dim}; param the weight offset.
OpSpec qk_norm_spec() {
  OpSpec spec;
  spec.name = "qk_norm";
  spec.cases = {{"3 tokens, 4/2 heads of 64", {3, 4, 2, 64}, 0.0f},
                {"2 tokens, 8/4 heads of 128, offset 1", {2, 8, 4, 128}, 1.0f}};
  spec.generate = [](const OpCase& c, std::mt19937& rng) {
    const std::int64_t width = (c.dims[1] + 2 * c.dims[2]) * c.dims[3];
    const float mean = c.param == 0.0f ? 1.0f : 0.0f;
    return OpInputs{{normal(rng, {c.dims[0], width})},
                    {weight(rng, {c.dims[3]}, 0.3f, mean), weight(rng, {c.dims[3]}, 0.3f, mean)},
                    {}};
  };
  spec.run = [](Backend& b, const OpCase& c, const OpInputs&, OpTensors& t) {
    const AttentionShape shape{.heads = c.dims[1], .kv_heads = c.dims[2], .head_dim = c.dims[3]};
    b.qk_norm(t.activations[0], shape, t.weights[0].data, t.weights[1].data, kEps, c.param);
    return std::vector<Tensor>{t.activations[0]};
  };
  spec.reference = [](const OpCase& c, const OpInputs& in) {
    const std::int64_t heads = c.dims[1], kv_heads = c.dims[2], dim = c.dims[3];
    HostTensor qkv = in.activations[0];
    const std::int64_t width = qkv.shape[1];
    for (std::int64_t t = 0; t < c.dims[0]; ++t) {
      for (std::int64_t h = 0; h < heads + kv_heads; ++h) {
        const auto& w = h < heads ? in.weights[0].values : in.weights[1].values;
        auto first = qkv.values.begin() + t * width + h * dim;
        const std::vector<float> head(first, first + dim);
        const auto normed = reference::rms_norm(head, dim, w, kEps, c.param);
        std::copy(normed.begin(), normed.end(), first);
      }
    }
    return std::vector<HostTensor>{qkv};
  };
  spec.cpu = kExactF32;
  spec.cuda = kCudaF32;
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Gated activations: dims {rows, width}.

template <class Activation>
OpSpec gated_spec(std::string name, bool linear_input, Activation act,
                  void (Backend::*op)(const Tensor&, Tensor&)) {
  OpSpec spec;
  spec.name = std::move(name);
  spec.cases = {{"4x64 (vector kernel)", {4, 64}}, {"3x30", {3, 30}}, {"1x4096", {1, 4096}}};
  spec.generate = [](const OpCase& c, std::mt19937& rng) {
    return OpInputs{{normal(rng, {c.dims[0], 2 * c.dims[1]}, 2.0f)}, {}, {}};
  };
  spec.run = [linear_input, op](Backend& b, const OpCase& c, const OpInputs&, OpTensors& t) {
    Tensor out = linear_input ? b.allocate_linear_input({c.dims[0], c.dims[1]})
                              : b.allocate({c.dims[0], c.dims[1]});
    (b.*op)(t.activations[0], out);
    return std::vector<Tensor>{out};
  };
  spec.reference = [act](const OpCase& c, const OpInputs& in) {
    return std::vector<HostTensor>{
        {{c.dims[0], c.dims[1]}, reference::gated(in.activations[0].values, c.dims[1], act)}};
  };
  spec.cpu = kExactF32;
  spec.cuda = linear_input ? kCudaBf16Out : kCudaF32;
  return spec;
}

// dims {rows, cols}; param the factor.
OpSpec scale_spec() {
  OpSpec spec;
  spec.name = "scale";
  spec.cases = {{"3x50 by 0.125", {3, 50}, 0.125f}, {"2x4096 by 45.25", {2, 4096}, 45.25f}};
  spec.generate = [](const OpCase& c, std::mt19937& rng) {
    return OpInputs{{normal(rng, {c.dims[0], c.dims[1]})}, {}, {}};
  };
  spec.run = [](Backend& b, const OpCase& c, const OpInputs&, OpTensors& t) {
    b.scale(t.activations[0], c.param);
    return std::vector<Tensor>{t.activations[0]};
  };
  spec.reference = [](const OpCase& c, const OpInputs& in) {
    HostTensor x = in.activations[0];
    for (float& v : x.values) v = static_cast<float>(double(v) * c.param);
    return std::vector<HostTensor>{x};
  };
  spec.cpu = {0.0, 0.0};  // one f32 product per element: exact
  spec.cuda = {0.0, 0.0};
  return spec;
}

OpSpec add_spec() {
  OpSpec spec;
  spec.name = "add";
  spec.cases = {{"3x50", {3, 50}}, {"2x4096", {2, 4096}}};
  spec.generate = [](const OpCase& c, std::mt19937& rng) {
    return OpInputs{{normal(rng, {c.dims[0], c.dims[1]}), normal(rng, {c.dims[0], c.dims[1]})},
                    {},
                    {}};
  };
  spec.run = [](Backend& b, const OpCase&, const OpInputs&, OpTensors& t) {
    b.add(t.activations[0], t.activations[1]);
    return std::vector<Tensor>{t.activations[0]};
  };
  spec.reference = [](const OpCase&, const OpInputs& in) {
    HostTensor acc = in.activations[0];
    for (std::size_t i = 0; i < acc.values.size(); ++i) acc.values[i] += in.activations[1].values[i];
    return std::vector<HostTensor>{acc};
  };
  spec.cpu = {0.0, 0.0};
  spec.cuda = {0.0, 0.0};
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Products and lookups.

// dims {rows, k, m}; param 1: with a bias.
OpSpec linear_spec() {
  OpSpec spec;
  spec.name = "linear";
  spec.cases = {{"5x64 -> 48", {5, 64, 48}, 0.0f},
                {"3x64 -> 40, bias", {3, 64, 40}, 1.0f},
                {"2x1024 -> 1024 (GEMV)", {2, 1024, 1024}, 1.0f},
                {"40x256 -> 96", {40, 256, 96}, 0.0f}};
  spec.generate = [](const OpCase& c, std::mt19937& rng) {
    OpInputs in{{normal(rng, {c.dims[0], c.dims[1]}, 0.5f)},
                {weight(rng, {c.dims[2], c.dims[1]}, 0.05f)},
                {}};
    if (c.param != 0.0f) in.weights.push_back(weight(rng, {c.dims[2]}, 0.5f));
    return in;
  };
  spec.run = [](Backend& b, const OpCase& c, const OpInputs&, OpTensors& t) {
    Tensor out = b.allocate({c.dims[0], c.dims[2]});
    b.linear(t.activations[0], t.weights[0], t.weights.size() > 1 ? &t.weights[1].data : nullptr, out);
    return std::vector<Tensor>{out};
  };
  spec.reference = [](const OpCase& c, const OpInputs& in) {
    const std::vector<float>* bias = in.weights.size() > 1 ? &in.weights[1].values : nullptr;
    return std::vector<HostTensor>{
        {{c.dims[0], c.dims[2]}, reference::linear(in.activations[0].values, c.dims[1],
                                                   in.weights[0].values, c.dims[2], bias)}};
  };
  spec.cpu = {1e-5, 1e-4};
  // CUDA rounds x to bf16 (2^-9 relative each): the error is a random walk of k such terms.
  spec.cuda = {1e-2, 1e-2};
  return spec;
}

// dims {vocab, dim, count}.
OpSpec embedding_spec() {
  OpSpec spec;
  spec.name = "embedding";
  spec.cases = {{"5 of 40x32", {40, 32, 5}}};
  spec.generate = [](const OpCase& c, std::mt19937& rng) {
    OpInputs in{{}, {weight(rng, {c.dims[0], c.dims[1]})}, {}};
    std::uniform_int_distribution<std::int32_t> id(0, static_cast<std::int32_t>(c.dims[0] - 1));
    for (std::int64_t i = 0; i < c.dims[2]; ++i) in.ints.push_back(id(rng));
    in.ints.back() = in.ints.front();  // a repeated id
    return in;
  };
  spec.run = [](Backend& b, const OpCase& c, const OpInputs& in, OpTensors& t) {
    Tensor out = b.allocate({c.dims[2], c.dims[1]});
    b.embedding(t.weights[0].data, in.ints, out);
    return std::vector<Tensor>{out};
  };
  spec.reference = [](const OpCase& c, const OpInputs& in) {
    HostTensor out{{c.dims[2], c.dims[1]}, {}};
    for (const std::int32_t id : in.ints) {
      auto row = in.weights[0].values.begin() + id * c.dims[1];
      out.values.insert(out.values.end(), row, row + c.dims[1]);
    }
    return std::vector<HostTensor>{out};
  };
  spec.cpu = {0.0, 0.0};
  spec.cuda = {0.0, 0.0};
  spec.graph_replayable = false;  // ids from the host
  return spec;
}

// dims {rows, cols, count}.
OpSpec gather_rows_spec() {
  OpSpec spec;
  spec.name = "gather_rows";
  spec.cases = {{"3 of 7x20", {7, 20, 3}}};
  spec.generate = [](const OpCase& c, std::mt19937& rng) {
    return OpInputs{{normal(rng, {c.dims[0], c.dims[1]})}, {}, {6, 0, 3}};
  };
  spec.run = [](Backend& b, const OpCase& c, const OpInputs& in, OpTensors& t) {
    const std::vector<std::int64_t> rows(in.ints.begin(), in.ints.end());
    Tensor out = b.allocate({c.dims[2], c.dims[1]});
    b.gather_rows(t.activations[0], rows, out);
    return std::vector<Tensor>{out};
  };
  spec.reference = [](const OpCase& c, const OpInputs& in) {
    HostTensor out{{c.dims[2], c.dims[1]}, {}};
    for (const std::int32_t r : in.ints) {
      auto row = in.activations[0].values.begin() + r * c.dims[1];
      out.values.insert(out.values.end(), row, row + c.dims[1]);
    }
    return std::vector<HostTensor>{out};
  };
  spec.cpu = {0.0, 0.0};
  spec.cuda = {0.0, 0.0};
  spec.graph_replayable = false;  // rows from the host
  return spec;
}

// dims {rows, cols}. The ids come back to the host; the harness reads them as an f32 tensor.
OpSpec argmax_rows_spec() {
  OpSpec spec;
  spec.name = "argmax_rows";
  spec.cases = {{"4x1000", {4, 1000}}, {"2x50000", {2, 50000}}};
  spec.generate = [](const OpCase& c, std::mt19937& rng) {
    OpInputs in{{normal(rng, {c.dims[0], c.dims[1]})}, {}, {}};
    in.activations[0].values[5] = 100.0f;  // a tie in row 0: the first one wins
    in.activations[0].values[7] = 100.0f;
    return in;
  };
  spec.run = [](Backend& b, const OpCase&, const OpInputs&, OpTensors& t) {
    const auto ids = b.argmax_rows(t.activations[0]);
    const std::vector<float> as_float(ids.begin(), ids.end());
    return std::vector<Tensor>{b.upload(as_float, {static_cast<std::int64_t>(ids.size())})};
  };
  spec.reference = [](const OpCase& c, const OpInputs& in) {
    HostTensor ids{{c.dims[0]}, {}};
    for (std::int64_t r = 0; r < c.dims[0]; ++r) {
      auto row = in.activations[0].values.begin() + r * c.dims[1];
      ids.values.push_back(static_cast<float>(std::max_element(row, row + c.dims[1]) - row));
    }
    return std::vector<HostTensor>{ids};
  };
  spec.cpu = {0.0, 0.0};
  spec.cuda = {0.0, 0.0};
  spec.graph_replayable = false;  // a host result
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Attention: dims {heads, kv_heads, head_dim, first sequence's tokens, second's}; two sequences
// prefilled from position 0 in blocks of 4; param the attention_scale (0: 1/sqrt(head_dim)).

constexpr std::int64_t kBlockSize = 4;

std::vector<OpCase> attention_cases() {
  return {{"4/2 heads of 64, 3 + 6 tokens", {4, 2, 64, 3, 6}, 0.0f},
          {"8/8 heads of 128, 5 + 1 tokens, scale 1/16", {8, 8, 128, 5, 1}, 0.0625f},
          {"4/1 heads of 256, 2 + 9 tokens, scale 1/8", {4, 1, 256, 2, 9}, 0.125f}};
}

AttentionShape attention_shape(const OpCase& c) {
  return {.heads = c.dims[0], .kv_heads = c.dims[1], .head_dim = c.dims[2],
          .attention_scale = c.param};
}

ForwardBatch two_sequence_batch(const OpCase& c) {
  ForwardBatch batch;
  std::int32_t next_block = 0;
  for (const std::int64_t count : {c.dims[3], c.dims[4]}) {
    SequenceInBatch seq{static_cast<std::int64_t>(batch.token_ids.size()), count, {}};
    for (std::int64_t p = 0; p < count; ++p) {
      if (p % kBlockSize == 0) seq.block_table.push_back(next_block++);
      batch.token_ids.push_back(0);
      batch.positions.push_back(static_cast<std::int32_t>(p));
      batch.slots.push_back(seq.block_table.back() * kBlockSize + p % kBlockSize);
    }
    batch.sequences.push_back(std::move(seq));
  }
  return batch;
}

std::vector<float> rope_frequencies(std::int64_t head_dim) {
  std::vector<float> inv_freq(static_cast<std::size_t>(head_dim / 2));
  for (std::size_t i = 0; i < inv_freq.size(); ++i) {
    inv_freq[i] = static_cast<float>(std::pow(10000.0, -2.0 * double(i) / double(head_dim)));
  }
  return inv_freq;
}

OpInputs attention_inputs(const OpCase& c, std::mt19937& rng) {
  const AttentionShape shape = attention_shape(c);
  const std::vector<float> inv_freq = rope_frequencies(c.dims[2]);
  return {{normal(rng, {c.dims[3] + c.dims[4], shape.qkv_width()}),
           {{static_cast<std::int64_t>(inv_freq.size())}, inv_freq}},
          {},
          {}};
}

double reference_scale(const OpCase& c) {
  return c.param != 0.0f ? double(c.param) : 1.0 / std::sqrt(double(c.dims[2]));
}

std::vector<float> reference_attention(const OpCase& c, const std::vector<float>& qkv) {
  std::vector<float> out(static_cast<std::size_t>((c.dims[3] + c.dims[4]) * c.dims[0] * c.dims[2]));
  reference::causal_attention(qkv, 0, c.dims[3], c.dims[0], c.dims[1], c.dims[2],
                              reference_scale(c), out);
  reference::causal_attention(qkv, c.dims[3], c.dims[4], c.dims[0], c.dims[1], c.dims[2],
                              reference_scale(c), out);
  return out;
}

OpSpec attention_spec(bool with_rope) {
  OpSpec spec;
  spec.name = with_rope ? "rope_attention" : "attention";
  spec.cases = attention_cases();
  spec.generate = attention_inputs;
  spec.run = [with_rope](Backend& b, const OpCase& c, const OpInputs&, OpTensors& t) {
    const AttentionShape shape = attention_shape(c);
    const ForwardBatch batch = two_sequence_batch(c);
    const std::int64_t blocks = batch.sequences.back().block_table.back() + 1;
    // The cache's shape as the transformer allocates it: the CUDA backend checks it.
    const std::vector<std::int64_t> cache{blocks, kBlockSize, shape.kv_heads, shape.head_dim};
    KvLayer kv{b.allocate_kv(cache), b.allocate_kv(cache)};
    Tensor out = b.allocate({t.activations[0].rows(), shape.q_width()});
    if (with_rope) {
      b.rope_attention(t.activations[0], shape, t.activations[1], kv, kBlockSize, batch, 0, out);
    } else {
      b.attention(t.activations[0], shape, kv, kBlockSize, batch, 0, out);
    }
    return std::vector<Tensor>{out};
  };
  spec.reference = [with_rope](const OpCase& c, const OpInputs& in) {
    std::vector<float> qkv = in.activations[0].values;
    if (with_rope) {
      const ForwardBatch batch = two_sequence_batch(c);
      reference::rope(qkv, in.activations[0].shape[1], c.dims[0] + c.dims[1], c.dims[2],
                      batch.positions, in.activations[1].values);
    }
    return std::vector<HostTensor>{
        {{c.dims[3] + c.dims[4], c.dims[0] * c.dims[2]}, reference_attention(c, qkv)}};
  };
  spec.cpu = {1e-5, 1e-4};
  // The CUDA cache holds bf16 keys and values, and the flash kernel rounds queries and
  // probabilities to bf16 too: a few 1e-3 on outputs of order 1 (as in cuda_flash_attention_test).
  spec.cuda = {2e-2, 1e-2};
  spec.graph_replayable = false;  // needs a KV cache made outside the step
  return spec;
}

// dims as attention's.
OpSpec rope_spec() {
  OpSpec spec;
  spec.name = "rope";
  spec.cases = attention_cases();
  spec.generate = attention_inputs;
  spec.run = [](Backend& b, const OpCase& c, const OpInputs&, OpTensors& t) {
    b.rope(t.activations[0], attention_shape(c), t.activations[1], two_sequence_batch(c).positions);
    return std::vector<Tensor>{t.activations[0]};
  };
  spec.reference = [](const OpCase& c, const OpInputs& in) {
    HostTensor qkv = in.activations[0];
    reference::rope(qkv.values, qkv.shape[1], c.dims[0] + c.dims[1], c.dims[2],
                    two_sequence_batch(c).positions, in.activations[1].values);
    return std::vector<HostTensor>{qkv};
  };
  spec.cpu = {1e-5, 1e-5};
  spec.cuda = {1e-5, 1e-5};
  spec.graph_replayable = false;  // positions from the host
  return spec;
}

}  // namespace

const std::vector<OpSpec>& op_specs() {
  static const std::vector<OpSpec> specs = [] {
    std::vector<OpSpec> s;
    s.push_back(embedding_spec());
    s.push_back(rms_norm_spec("rms_norm", NormOut::activation));
    s.push_back(rms_norm_spec("rms_norm into a linear input", NormOut::linear_input));
    s.push_back(rms_norm_spec("rms_norm in place", NormOut::in_place));
    s.push_back(add_rms_norm_spec("add_rms_norm", NormOut::activation));
    s.push_back(add_rms_norm_spec("add_rms_norm into a linear input", NormOut::linear_input));
    s.push_back(qk_norm_spec());
    s.push_back(linear_spec());
    s.push_back(rope_spec());
    s.push_back(attention_spec(false));
    s.push_back(attention_spec(true));
    s.push_back(gated_spec("silu_mul", false, reference::silu, &Backend::silu_mul));
    s.push_back(gated_spec("silu_mul into a linear input", true, reference::silu,
                           &Backend::silu_mul));
    s.push_back(gated_spec("gelu_tanh_mul", false, reference::gelu_tanh, &Backend::gelu_tanh_mul));
    s.push_back(gated_spec("gelu_tanh_mul into a linear input", true, reference::gelu_tanh,
                           &Backend::gelu_tanh_mul));
    s.push_back(scale_spec());
    s.push_back(add_spec());
    s.push_back(gather_rows_spec());
    s.push_back(argmax_rows_spec());
    for (OpSpec& spec : expert_op_specs()) s.push_back(std::move(spec));
    return s;
  }();
  return specs;
}

}  // namespace tessera::backend_ops
