#pragma once
// Incremental decoding for token-by-token generation: push() returns only text that no later
// token can change (complete UTF-8 characters, finished byte-fallback runs), and the
// concatenation of all push() results and finish() equals Tokenizer::decode of all ids.
#include <cstdint>
#include <string>

#include "runtime/tokenizer/decoder.hpp"
#include "runtime/tokenizer/tokenizer.hpp"

namespace tessera::runtime {

class StreamingDetokenizer {
 public:
  // `tokenizer` must outlive this object.
  StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens);
  // Throws Error(tokenizer) for an unknown id; the stream is unchanged then.
  std::string push(std::int32_t id);
  // Flushes held-back text (an unfinished character becomes U+FFFD); the stream then restarts.
  std::string finish();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  DecodeStream stream_;
};

}  // namespace tessera::runtime
