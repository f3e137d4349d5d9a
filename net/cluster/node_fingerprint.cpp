#include "net/cluster/node_fingerprint.hpp"

#include <cstdio>
#include <set>
#include <sstream>

#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/model/model_config.hpp"

namespace tessera::net {
namespace {

// FNV-1a, 64 bits: stable across builds and machines, unlike std::hash.
class Fnv1a {
 public:
  void add(const std::string& text) {
    for (const unsigned char c : text) hash_ = (hash_ ^ c) * 0x100000001b3ULL;
    hash_ = (hash_ ^ 0xffU) * 0x100000001b3ULL;  // a separator: ("ab","c") differs from ("a","bc")
  }
  std::uint64_t value() const { return hash_; }

 private:
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

// The fields that decide what the model computes, one per line, in a fixed order.
std::string canonical_text(const runtime::ModelConfig& c) {
  std::ostringstream out;
  out.precision(17);
  out << c.architecture << '\n' << c.model_type << '\n' << c.vocab_size << '\n'
      << c.hidden_size << '\n' << c.intermediate_size << '\n' << c.num_hidden_layers << '\n'
      << c.num_attention_heads << '\n' << c.num_key_value_heads << '\n' << c.head_dim << '\n'
      << c.max_position_embeddings << '\n' << c.rms_norm_eps << '\n' << c.tie_word_embeddings
      << '\n' << c.torch_dtype << '\n'
      << canonical_text(c.stack);
  return out.str();
}

}  // namespace

std::string tessera_version() { return TESSERA_VERSION; }

NodeFingerprint make_fingerprint(const std::filesystem::path& model_dir, const std::string& device) {
  Fnv1a hash;
  hash.add(canonical_text(runtime::ModelConfig::load(model_dir)));
  const auto checkpoint = runtime::Checkpoint::open(model_dir);
  std::set<std::string> dtypes;
  for (const auto& name : checkpoint.names()) {  // sorted: the checkpoint keeps a std::map
    const auto& tensor = checkpoint.tensor(name);
    std::string shape;
    for (const auto dim : tensor.shape) shape += std::to_string(dim) + ",";
    const std::string dtype(runtime::to_string(tensor.dtype));
    hash.add(name + ":" + dtype + ":" + shape);
    dtypes.insert(dtype);
  }
  NodeFingerprint fingerprint;
  fingerprint.version = tessera_version();
  fingerprint.model_hash = hash.value();
  for (const auto& dtype : dtypes) fingerprint.dtype += (fingerprint.dtype.empty() ? "" : "+") + dtype;
  fingerprint.device = device;
  return fingerprint;
}

std::string describe(const NodeFingerprint& f) {
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(f.model_hash));
  return "tessera " + f.version + ", model " + hash + ", dtype " + f.dtype + ", device " + f.device;
}

}  // namespace tessera::net
