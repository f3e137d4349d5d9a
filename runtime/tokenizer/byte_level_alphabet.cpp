#include "runtime/tokenizer/byte_level_alphabet.hpp"

#include "runtime/tokenizer/utf8.hpp"

namespace tessera::runtime {

const ByteLevelAlphabet& ByteLevelAlphabet::instance() {
  static const ByteLevelAlphabet alphabet;
  return alphabet;
}

ByteLevelAlphabet::ByteLevelAlphabet() {
  decoded_.fill(-1);
  // Printable Latin-1 bytes stand for themselves; the rest are shifted past 255 in order,
  // which is the convention every byte-level vocabulary was trained with.
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    const char32_t cp = printable ? static_cast<char32_t>(b) : next++;
    utf8::append_code_point(encoded_[b], cp);
    decoded_[cp] = static_cast<std::int16_t>(b);
  }
}

void ByteLevelAlphabet::encode(std::string_view bytes, std::string& out) const {
  for (unsigned char b : bytes) out.append(encoded_[b]);
}

std::optional<unsigned char> ByteLevelAlphabet::decode(char32_t cp) const {
  if (cp >= decoded_.size() || decoded_[cp] < 0) return std::nullopt;
  return static_cast<unsigned char>(decoded_[cp]);
}

void ByteLevelAlphabet::decode_token(std::string_view token, std::string& out) const {
  const std::size_t start = out.size();
  std::size_t i = 0;
  while (i < token.size()) {
    const auto byte = decode(utf8::next_code_point(token, i));
    if (!byte) {
      out.resize(start);
      out.append(token);
      return;
    }
    out.push_back(static_cast<char>(*byte));
  }
}

}  // namespace tessera::runtime
