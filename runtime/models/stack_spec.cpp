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
    out << l.mlp.gate << ' ' << l.mlp.up << ' ' << l.mlp.down << ' ' << l.mlp.bias << ' '
        << static_cast<int>(l.mlp.activation) << ' ';
    write(out, l.mlp_output_norm);
    out << '\n';
  }
  return out.str();
}

}  // namespace tessera::runtime
