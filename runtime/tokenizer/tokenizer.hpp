#pragma once
// A HF-compatible tokenizer loaded from a model folder's tokenizer.json (and, for BOS/EOS
// strings and the chat template, tokenizer_config.json). Encoding and decoding reproduce HF
// `tokenizers` exactly for the supported components; anything else is refused at load time.
// A Tokenizer is cheap to copy (shared, immutable state) and safe to use from many threads.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/tokenizer/decoder.hpp"

namespace tessera::runtime {

class Tokenizer {
 public:
  static Tokenizer load(const std::filesystem::path& model_dir);
  // Parses tokenizer.json text directly; `name` is used in error messages.
  static Tokenizer from_json_text(std::string_view json_text, const std::string& name);

  // Invalid UTF-8 input throws Error(tokenizer) naming the byte offset.
  std::vector<std::int32_t> encode(std::string_view text, bool add_special_tokens) const;
  // An id outside the vocabulary throws Error(tokenizer) naming it.
  std::string decode(std::span<const std::int32_t> ids, bool skip_special_tokens) const;

  std::optional<std::int32_t> token_to_id(std::string_view token) const;
  std::int64_t vocab_size() const;  // distinct tokens, added tokens included
  bool is_special(std::int32_t id) const;

  const std::string& bos_token() const;
  const std::string& eos_token() const;
  const std::string& chat_template() const;

  // Building blocks of StreamingDetokenizer: a fresh decoder state, and the token string an id
  // feeds into it (nullptr when the id is a special token being skipped).
  DecodeStream start_decode() const;
  const std::string* decode_piece(std::int32_t id, bool skip_special_tokens) const;

 private:
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  static std::shared_ptr<Impl> parse(std::string_view json_text, const std::string& name);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace tessera::runtime
