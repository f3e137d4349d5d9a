#pragma once
// A lower bound on a prompt's token count from its length in bytes, known before tokenizing:
// a token covers at most L bytes of the client's text, so B bytes need at least ceil(B / L)
// tokens. It lets the service refuse an 8-MB prompt against a 512-token context at once,
// instead of spending seconds tokenizing it first.
//
// L is the longest token string in the vocabulary (a byte-level token's string is at least as
// long as the bytes it stands for), times how much a normalizer may shrink text (NFC folds three
// Hangul jamo, 9 bytes, into one 3-byte syllable). The bound holds only when no text can vanish
// on its way to tokens; for a tokenizer.json that may drop text (a Strip normalizer, a Split
// pre-tokenizer that removes, characters neither the vocabulary nor a byte fallback nor an
// unknown token can carry, a fused unknown token) there is none and prompts are tokenized.
#include <cstdint>
#include <filesystem>
#include <optional>

#include "runtime/tokenizer/tokenizer.hpp"

namespace tessera::net {

class PromptBound {
 public:
  // No bound: min_tokens is always 0.
  PromptBound() = default;
  // Reads model_dir/tokenizer.json (already loaded into `tokenizer`) for its normalizer,
  // pre-tokenizer and unknown-token handling, and the token strings of ids below `id_limit`
  // (the model's vocabulary size: the engine refuses any id beyond it) and vocab_size().
  static PromptBound for_tokenizer(const std::filesystem::path& model_dir,
                                   const runtime::Tokenizer& tokenizer, std::int64_t id_limit);

  // Tokens a text of `bytes` bytes has at least (special tokens added to it not counted).
  std::int64_t min_tokens(std::size_t bytes) const;
  // The bytes one token may stand for at most; nullopt when there is no bound.
  std::optional<std::int64_t> max_bytes_per_token() const { return max_bytes_per_token_; }

 private:
  std::optional<std::int64_t> max_bytes_per_token_;
};

}  // namespace tessera::net
