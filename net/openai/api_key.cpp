#include "net/openai/api_key.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>

namespace tessera::net {
namespace {

std::array<unsigned char, 32> sha256(std::string_view text) {
  std::array<unsigned char, 32> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  return digest;
}

bool starts_with_bearer(std::string_view value) {
  constexpr std::string_view scheme = "bearer ";
  return value.size() >= scheme.size() &&
         std::equal(scheme.begin(), scheme.end(), value.begin(), [](char a, char b) {
           return a == std::tolower(static_cast<unsigned char>(b));
         });
}

}  // namespace

ApiKey::ApiKey(const std::string& key) : required_(!key.empty()), digest_(sha256(key)) {}

bool ApiKey::accepts(std::string_view authorization) const {
  if (!required_) return true;
  // The scheme is not secret; only the token's comparison must not leak where it differs.
  const bool bearer = starts_with_bearer(authorization);
  const auto token = bearer ? authorization.substr(7) : std::string_view();
  const auto digest = sha256(token);
  return CRYPTO_memcmp(digest.data(), digest_.data(), digest.size()) == 0 && bearer;
}

}  // namespace tessera::net
