#include "runtime/models/stack_spec.hpp"

#include <sstream>

namespace tessera::runtime {
namespace {

void write(std::ostream& out, const NormSpec& norm) {
  out << norm.tensor << '+' << norm.weight_offset << ' ';
}

void write(std::ostream& out, const std::optional<NormSpec>& norm) {
  if (norm) {
    write(out, *norm);
  } else {
    out << "- ";
  }
}

void write(std::ostream& out, const DenseMlpSpec& mlp) {
  out << mlp.gate << ' ' << mlp.up << ' ' << mlp.down << ' ' << mlp.bias << ' '
      << static_cast<int>(mlp.activation) << ' ' << mlp.features << ' ';
}

void write(std::ostream& out, const std::optional<MoeSpec>& moe) {
  if (!moe) {
    out << "- ";
    return;
  }
  out << moe->router << ' ' << moe->experts_prefix << ' ' << moe->gate << ' ' << moe->up << ' '
      << moe->down << ' ' << moe->num_experts << ' ' << moe->top_k << ' ' << moe->normalize_top_k
      << ' ' << moe->features << ' ';
  if (moe->shared_expert) {
    write(out, moe->shared_expert->mlp);
    out << moe->shared_expert->gate << ' ';
  } else {
    out << "- ";
  }
}

}  // namespace

std::string canonical_text(const StackSpec& s) {
  std::ostringstream out;
  out.precision(9);
  out << s.embed_tokens << ' ' << s.embedding_scale << ' ' << s.lm_head << ' ';
  write(out, s.final_norm);
  out << '\n';
  for (const RopeConfig& r : s.ropes) out << canonical_text(r) << '\n';
  for (const LayerSpec& l : s.layers) {
    write(out, l.input_norm);
    const AttentionSpec& a = l.attention;
    out << a.q << ' ' << a.k << ' ' << a.v << ' ' << a.o << ' ' << a.qkv_bias << a.o_bias << ' ';
    write(out, a.q_norm);
    write(out, a.k_norm);
    out << a.softmax_scale << ' ' << a.rope << ' ' << a.window << ' ';
    write(out, l.attention_output_norm);
    write(out, l.mlp_norm);
    write(out, l.mlp);
    write(out, l.moe);
    write(out, l.mlp_output_norm);
    out << '\n';
  }
  return out.str();
}

}  // namespace tessera::runtime
