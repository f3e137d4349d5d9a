#pragma once
// The API key check. Comparing the key with == returns as soon as a byte differs, so the time an
// answer takes tells an attacker how much of a guess was right; this compares SHA-256 digests of
// both (fixed length, whatever was sent) in constant time.
#include <array>
#include <string>
#include <string_view>

namespace tessera::net {

class ApiKey {
 public:
  explicit ApiKey(const std::string& key);  // empty: no key needed

  bool required() const { return required_; }
  // Whether an Authorization header value ("Bearer <key>"; the scheme in any case) carries the
  // key. Always true when no key is required.
  bool accepts(std::string_view authorization) const;

 private:
  bool required_ = false;
  std::array<unsigned char, 32> digest_{};
};

}  // namespace tessera::net
