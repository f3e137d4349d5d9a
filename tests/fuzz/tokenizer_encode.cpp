// Encoding and decoding with real tokenizers: the committed model's byte-level BPE
// (models/kjv-tiny) and a small Llama-2-style one (data/llama2_style_tokenizer.json: the whole
// prompt is one BPE word, with byte fallback), on text or ids from the input.
//
// Input: one mode byte, then the rest. Bit 0 picks the tokenizer. Bit 1 clear: the rest is text
// to encode (the prompt of a request). Set: the rest is little-endian int32 ids to decode (the
// tokens a model samples), reduced into the vocabulary unless bit 2 is set.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/tokenizer/tokenizer.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/tokenizer_checks.hpp"

namespace {

using tessera::runtime::Tokenizer;

const Tokenizer& byte_level() {
  static const Tokenizer tokenizer = Tokenizer::load(tessera::fuzz::model_dir());
  return tokenizer;
}

const Tokenizer& llama2_style() {
  static const Tokenizer tokenizer = Tokenizer::from_json_text(
      tessera::fuzz::read_file(tessera::fuzz::data_file("llama2_style_tokenizer.json")),
      "llama2_style_tokenizer.json");
  return tokenizer;
}

void encode(const Tokenizer& tokenizer, std::string_view text, bool lossless) {
  const auto ids = tessera::fuzz::encode_and_decode(tokenizer, text);
  // Byte-level BPE with no normalizer loses nothing: decoding gives the text back.
  if (lossless && !ids.empty()) {
    const auto back = tokenizer.decode(ids, false);
    if (back != text) tessera::fuzz::property_broken("decode(encode(text)) == text", text, back);
  }
}

void decode(const Tokenizer& tokenizer, std::string_view bytes, bool raw_ids) {
  std::vector<std::int32_t> ids(bytes.size() / 4);
  if (!ids.empty()) std::memcpy(ids.data(), bytes.data(), ids.size() * 4);
  if (!raw_ids) {
    const auto range = static_cast<std::uint32_t>(tokenizer.vocab_size());
    for (auto& id : ids) id = static_cast<std::int32_t>(static_cast<std::uint32_t>(id) % range);
  }
  tessera::fuzz::decode_checked(tokenizer, ids, false);
  tessera::fuzz::decode_checked(tokenizer, ids, true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const auto rest = tessera::fuzz::as_text(data + 1, size - 1);
  const bool llama2 = mode & 1;
  const Tokenizer& tokenizer = llama2 ? llama2_style() : byte_level();
  if (mode & 2) {
    decode(tokenizer, rest, mode & 4);
  } else {
    encode(tokenizer, rest, !llama2);
  }
  return 0;
}
