#pragma once
// Writing JSON text by hand in the generators: unlike building an nlohmann value, it can emit
// what a hostile file holds (numbers no double can hold, duplicate keys, nesting of any depth).
#include <cstdio>
#include <string>
#include <string_view>

namespace tessera::fuzz {

// `text` as a JSON string literal. Bytes >= 0x80 pass through as they are, so invalid UTF-8
// reaches the parser too.
inline std::string quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace tessera::fuzz
