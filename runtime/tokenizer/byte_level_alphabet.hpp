#pragma once
// GPT-2's reversible byte <-> printable character mapping, used by the ByteLevel
// pre-tokenizer and decoder so every byte string becomes a vocabulary-friendly string.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tessera::runtime {

class ByteLevelAlphabet {
 public:
  static const ByteLevelAlphabet& instance();

  // UTF-8 encoding of the character that stands for `byte`.
  std::string_view encode(unsigned char byte) const { return encoded_[byte]; }
  // Appends the mapped form of every byte of `bytes` to `out`.
  void encode(std::string_view bytes, std::string& out) const;
  // The byte a character stands for, if it is part of the alphabet.
  std::optional<unsigned char> decode(char32_t cp) const;
  // Appends the bytes `token` stands for; when any character is outside the alphabet the
  // token's own UTF-8 bytes are used instead (as HF does for added tokens).
  void decode_token(std::string_view token, std::string& out) const;

 private:
  ByteLevelAlphabet();
  std::array<std::string, 256> encoded_;
  std::array<std::int16_t, 324> decoded_{};  // code point -> byte, -1 when unmapped
};

}  // namespace tessera::runtime
