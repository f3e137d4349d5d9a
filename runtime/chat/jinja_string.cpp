#include "runtime/chat/jinja_string.hpp"

#include "runtime/chat/jinja_text.hpp"

namespace tessera::runtime::jinja {

namespace {

bool all_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

}  // namespace

Text::Text(std::string bytes) : bytes_(std::move(bytes)) {
  if (all_ascii(bytes_)) {
    length_ = bytes_.size();
    return;
  }
  std::size_t i = 0;
  while (i < bytes_.size()) {
    if (length_ % kStride == 0) marks_.push_back(i);
    char32_t cp = 0;
    i = utf8_next(bytes_, i, cp);
    ++length_;
  }
  // Multi-byte sequences make the string longer than its code point count; when it is not,
  // every code point is one byte (ASCII or invalid bytes) and offsets need no table.
  if (length_ == bytes_.size()) marks_.clear();
}

std::size_t Text::offset(std::size_t index) const {
  if (index >= length_) return bytes_.size();
  if (marks_.empty()) return index;
  std::size_t i = marks_[index / kStride];
  for (std::size_t k = index % kStride; k > 0; --k) {
    char32_t cp = 0;
    i = utf8_next(bytes_, i, cp);
  }
  return i;
}

std::string Text::at(std::size_t index) const { return substr(index, index + 1); }

std::string Text::substr(std::size_t begin, std::size_t end) const {
  if (end > length_) end = length_;
  if (begin >= end) return {};
  std::size_t from = offset(begin), to = offset(end);
  std::string_view part = std::string_view(bytes_).substr(from, to - from);
  if (all_ascii(part)) return std::string(part);
  return utf8_encode(utf8_decode(part));  // invalid bytes become U+FFFD
}

}  // namespace tessera::runtime::jinja
