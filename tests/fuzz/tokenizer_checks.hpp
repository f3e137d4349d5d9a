#pragma once
// What every tokenizer harness does with a tokenizer that loaded: encode text, decode the ids
// back, and check the properties the server relies on. An Error (text or ids refused) is an
// answer; a broken property aborts, which libFuzzer reports as a crash with the input.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/tokenizer/streaming_detokenizer.hpp"
#include "runtime/tokenizer/tokenizer.hpp"

namespace tessera::fuzz {

[[noreturn]] inline void property_broken(const char* what, std::string_view expected,
                                         std::string_view got) {
  std::fprintf(stderr, "tokenizer property broken: %s\n  expected (%zu bytes): %.*s\n  got (%zu bytes): %.*s\n",
               what, expected.size(), static_cast<int>(std::min<std::size_t>(expected.size(), 400)),
               expected.data(), got.size(), static_cast<int>(std::min<std::size_t>(got.size(), 400)),
               got.data());
  std::abort();
}

// The server streams a completion through a StreamingDetokenizer and returns the whole of it
// through decode(): the two must agree (streaming_detokenizer.hpp promises it).
inline std::string decode_checked(const runtime::Tokenizer& tokenizer,
                                  const std::vector<std::int32_t>& ids, bool skip_special) {
  std::string whole;
  try {
    whole = tokenizer.decode(ids, skip_special);
  } catch (const Error&) {
    return {};  // an id outside the vocabulary
  }
  runtime::StreamingDetokenizer stream(tokenizer, skip_special);
  std::string streamed;
  for (const auto id : ids) streamed += stream.push(id);
  streamed += stream.finish();
  if (streamed != whole) property_broken("streamed decode == decode", whole, streamed);
  return whole;
}

// Encodes `text` both ways and decodes the ids both ways. Returns the ids of the plain encoding
// (no special tokens added), or nothing when the text is refused.
inline std::vector<std::int32_t> encode_and_decode(const runtime::Tokenizer& tokenizer,
                                                   std::string_view text) {
  std::vector<std::int32_t> plain;
  try {
    plain = tokenizer.encode(text, false);
    const auto with_special = tokenizer.encode(text, true);
    decode_checked(tokenizer, with_special, true);
  } catch (const Error&) {
    return {};  // invalid UTF-8, say
  }
  decode_checked(tokenizer, plain, false);
  return plain;
}

}  // namespace tessera::fuzz
