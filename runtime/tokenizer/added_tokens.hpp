#pragma once
// The `added_tokens` of tokenizer.json: tokens matched literally in the input before
// normalization (or after it, when `normalized` is true), honouring single_word/lstrip/rstrip.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/tokenizer/json_fields.hpp"
#include "runtime/tokenizer/string_hash.hpp"

namespace tessera::runtime {

class Normalizer;

struct AddedToken {
  std::int32_t id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

// One piece of input after splitting: either an added token (id >= 0) or plain text.
struct TextSegment {
  std::string_view text;
  std::int32_t id = -1;
};

class AddedTokens {
 public:
  static AddedTokens from_json(const nlohmann::json& list, const std::string& path,
                               const JsonFields& fields, const Normalizer* normalizer);

  // Splits on tokens matched against raw text (normalized == false).
  void split_raw(std::string_view text, std::vector<TextSegment>& out) const {
    raw_.split(text, tokens_, out);
  }
  // Splits normalized text on tokens with normalized == true.
  void split_normalized(std::string_view text, std::vector<TextSegment>& out) const {
    normalized_.split(text, tokens_, out);
  }
  bool has_normalized() const { return !normalized_.empty(); }

  const AddedToken* by_id(std::int32_t id) const;
  std::optional<std::int32_t> id_of(std::string_view content) const;
  bool is_special_content(std::string_view content) const;
  const std::vector<AddedToken>& all() const { return tokens_; }

 private:
  // A byte trie giving HF's leftmost-longest matching.
  class Matcher {
   public:
    void add(std::string_view pattern, std::size_t token_index);
    bool empty() const { return nodes_.size() <= 1; }
    void split(std::string_view text, const std::vector<AddedToken>& tokens,
               std::vector<TextSegment>& out) const;

   private:
    // Longest pattern starting at `pos`: (length, token index), or length 0.
    std::pair<std::size_t, std::size_t> longest_at(std::string_view text, std::size_t pos) const;
    struct Node {
      std::unordered_map<unsigned char, std::uint32_t> children;
      std::int64_t token = -1;
    };
    std::vector<Node> nodes_{Node{}};
    bool first_byte_[256] = {};
  };

  std::vector<AddedToken> tokens_;
  std::unordered_map<std::int32_t, std::size_t> by_id_;
  StringMap<std::int32_t> by_content_;
  Matcher raw_;
  Matcher normalized_;
};

}  // namespace tessera::runtime
