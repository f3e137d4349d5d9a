#pragma once
// The text of a string value: its UTF-8 bytes plus what indexing by code point needs. Templates
// index and slice strings by code point as Python does; decoding the whole string for every
// `s[i]` made a loop over a long message quadratic. Strings are immutable, so the length and a
// sparse table of offsets are worked out once, when the string is made.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::runtime::jinja {

class Text {
 public:
  explicit Text(std::string bytes);

  const std::string& bytes() const { return bytes_; }
  // Code points, counting each invalid byte as one (it reads as U+FFFD, as utf8_decode has it).
  std::size_t length() const { return length_; }
  // Byte offset at which code point `index` (at most length()) starts: O(1) when every code
  // point is one byte, else at most kStride code points are walked.
  std::size_t offset(std::size_t index) const;
  // Code point `index` (below length()) as UTF-8, an invalid byte as U+FFFD.
  std::string at(std::size_t index) const;
  // Code points [begin, end) as UTF-8 (invalid bytes as U+FFFD), without decoding the rest.
  std::string substr(std::size_t begin, std::size_t end) const;

 private:
  static constexpr std::size_t kStride = 64;
  std::string bytes_;
  std::size_t length_ = 0;
  // marks_[k] is the byte offset of code point k * kStride; empty while each code point is a
  // single byte.
  std::vector<std::size_t> marks_;
};

}  // namespace tessera::runtime::jinja
