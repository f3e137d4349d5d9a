#pragma once
// UTF-8 helpers shared by the tokenizer stages. Decoding follows the "maximal subpart" rule
// (one U+FFFD per maximal invalid subsequence) because that is what HF tokenizers' lossy
// decoding produces, and decode output must match it byte for byte.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tessera::runtime::utf8 {

inline constexpr std::string_view replacement_char = "\xEF\xBF\xBD";

// Length of the valid sequence starting at s[i], or 0 if invalid there. `complete` is false
// when the bytes seen so far are a valid but unfinished prefix cut by the end of `s`;
// `consumed` is then, or for an invalid sequence, the number of bytes forming the maximal subpart.
struct SequenceCheck {
  std::size_t length = 0;    // > 0: a valid character of this many bytes
  std::size_t consumed = 1;  // when length == 0: bytes to replace with one U+FFFD
  bool truncated = false;    // when length == 0: the subpart ran into the end of the input
};
SequenceCheck check_sequence(std::string_view s, std::size_t i);

// Byte offset of the first invalid sequence, or nullopt when `s` is valid UTF-8.
std::optional<std::size_t> first_invalid(std::string_view s);

// Lossy conversion of a complete byte string.
std::string decode_lossy(std::string_view bytes);

// Lossy conversion fed in pieces: append() emits every character that later bytes cannot
// change and keeps an unfinished tail; finish() turns that tail into U+FFFD.
class LossyStream {
 public:
  void append(std::string_view bytes, std::string& out);
  void finish(std::string& out);

 private:
  std::string pending_;
};

// Decodes the code point at s[i] (s must be valid UTF-8 there) and advances i.
char32_t next_code_point(std::string_view s, std::size_t& i);
void append_code_point(std::string& out, char32_t cp);
// Number of bytes of the character whose lead byte is `lead` (valid UTF-8 assumed).
inline std::size_t sequence_length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

// Unicode White_Space, the set Rust's char::is_whitespace and regex \s use.
bool is_whitespace(char32_t cp);
// Regex \w in Rust's Unicode mode: letters, marks, digits, connector punctuation, joiners.
bool is_word_char(char32_t cp);

}  // namespace tessera::runtime::utf8
