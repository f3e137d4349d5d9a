#include "runtime/tokenizer/streaming_detokenizer.hpp"

namespace tessera::runtime {

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens),
      stream_(tokenizer.start_decode()) {}

std::string StreamingDetokenizer::push(std::int32_t id) {
  std::string out;
  if (const std::string* piece = tokenizer_.decode_piece(id, skip_special_tokens_)) {
    stream_.push(*piece, out);
  }
  return out;
}

std::string StreamingDetokenizer::finish() {
  std::string out;
  stream_.finish(out);
  stream_ = tokenizer_.start_decode();
  return out;
}

}  // namespace tessera::runtime
