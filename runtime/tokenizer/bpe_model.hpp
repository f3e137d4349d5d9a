#pragma once
// The BPE model of tokenizer.json (`model.type == "BPE"`): vocabulary, ranked merges, the
// byte-fallback / unknown-token rules of SentencePiece-converted models, and a word cache.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/tokenizer/json_fields.hpp"
#include "runtime/tokenizer/merge_table.hpp"
#include "runtime/tokenizer/string_hash.hpp"

namespace tessera::runtime {

class BpeModel {
 public:
  static BpeModel from_json(const nlohmann::json& model, const std::string& path,
                            const JsonFields& fields);
  BpeModel(BpeModel&& other) noexcept;

  // Appends the ids of one pre-tokenized word.
  void tokenize(std::string_view word, std::vector<std::int32_t>& out) const;

  std::optional<std::int32_t> token_to_id(std::string_view token) const;
  // nullptr when no vocabulary entry has this id.
  const std::string* id_to_token(std::int32_t id) const;
  const StringMap<std::int32_t>& vocab() const { return vocab_; }

 private:
  BpeModel() = default;
  void merge_word(std::string_view word, std::vector<std::int32_t>& out) const;
  void initial_symbols(std::string_view word, std::vector<std::int32_t>& ids) const;

  StringMap<std::int32_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_id_;
  MergeTable merges_;
  std::optional<std::int32_t> unk_id_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::int32_t byte_ids_[256] = {};  // <0xXX> ids, -1 when absent (byte_fallback only)

  // Words repeat heavily in real text; remembering their ids skips the merge loop.
  mutable std::mutex cache_mutex_;
  mutable StringMap<std::vector<std::int32_t>> cache_;
};

}  // namespace tessera::runtime
