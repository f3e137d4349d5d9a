// tokenizer.json: loaded from the input, then used to encode and decode (tokenizer_checks.hpp).
//
// Input: either tokenizer.json text, or kProgram followed by bytes that a generator reads as
// choices (FuzzedDataProvider) to write a tokenizer.json: components of every supported type,
// Sequence nesting of any depth, long runs of one stage (Replace steps that each double the
// text), vocabulary and added-token ids at the integer boundaries. Mutated JSON text almost
// never grows nesting thousands deep or keeps a vocabulary consistent enough to load.
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/core/error.hpp"
#include "runtime/tokenizer/tokenizer.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/json_text.hpp"
#include "tests/fuzz/tokenizer_checks.hpp"

namespace {

using tessera::fuzz::pick_number;
using tessera::fuzz::quote;

constexpr std::string_view kProgram = "#tokenizer-program\n";

class TokenizerWriter {
 public:
  explicit TokenizerWriter(FuzzedDataProvider& in) : in_(in) {}

  std::string tokenizer() {
    std::string out = "{\"version\":\"1.0\",\"added_tokens\":" + added_tokens();
    out += ",\"normalizer\":" + nested(&TokenizerWriter::normalizer, "normalizers");
    out += ",\"pre_tokenizer\":" + nested(&TokenizerWriter::pre_tokenizer, "pretokenizers");
    out += ",\"post_processor\":" + nested(&TokenizerWriter::post_processor, "processors");
    out += ",\"decoder\":" + nested(&TokenizerWriter::decoder, "decoders");
    return out + ",\"model\":" + model() + "}";
  }

 private:
  using Component = std::string (TokenizerWriter::*)();

  // A short piece of text: the characters tokenizers treat specially, or bytes from the input.
  std::string piece() {
    static constexpr const char* pieces[] = {"a", "b", "ab", " ", "  ", "\xe2\x96\x81", "\xc4\xa0",
                                             "<s>", "</s>", "<unk>", "\xc3\xa9", "\n", "", "##",
                                             "aaaaaaaa", "\xf0\x9f\x98\x80", "<0x41>", "\\s+", "(a|b)*"};
    if (in_.ConsumeBool()) return in_.ConsumeRandomLengthString(8);
    return pieces[in_.ConsumeIntegralInRange<std::size_t>(0, std::size(pieces) - 1)];
  }
  std::string boolean() { return in_.ConsumeBool() ? "true" : "false"; }
  std::string pattern() {
    return std::string("{\"") + (in_.ConsumeBool() ? "String" : "Regex") + "\":" + quote(piece()) + "}";
  }

  // The component, a Sequence of them, a Sequence repeating one of them many times, or one
  // wrapped in Sequences many levels deep. Each component's text is capped (kMaxComponentBytes)
  // so that writing it stays fast: the time must go to the tokenizer, not to the generator.
  std::string nested(Component component, const char* list_key, int depth = 0) {
    switch (in_.ConsumeIntegralInRange(0, 5)) {
      case 0:
        return "null";
      case 1: {
        if (depth > 2) return (this->*component)();
        std::string list;
        for (int n = in_.ConsumeIntegralInRange(0, 6); n > 0; --n) {
          list += (list.empty() ? "" : ",") + nested(component, list_key, depth + 1);
        }
        return sequence(list_key, list);
      }
      case 2: {
        const std::string one = (this->*component)();
        std::string list = one;
        for (int n = repeat_count(); n > 1 && list.size() < kMaxComponentBytes; --n) list += "," + one;
        return sequence(list_key, list);
      }
      case 3: {
        const std::string open = std::string("{\"type\":\"Sequence\",\"") + list_key + "\":[";
        std::string prefix, suffix;
        for (int n = repeat_count(); n > 0 && prefix.size() < kMaxComponentBytes; --n) {
          prefix += open;
          suffix += "]}";
        }
        return prefix + (this->*component)() + suffix;
      }
      default:
        return (this->*component)();
    }
  }
  static constexpr std::size_t kMaxComponentBytes = 1u << 20;
  int repeat_count() {
    static constexpr int counts[] = {2, 10, 64, 127, 129, 1000, 30000};
    return counts[in_.ConsumeIntegralInRange<std::size_t>(0, std::size(counts) - 1)];
  }
  static std::string sequence(const char* list_key, const std::string& list) {
    return std::string("{\"type\":\"Sequence\",\"") + list_key + "\":[" + list + "]}";
  }

  std::string normalizer() {
    switch (in_.ConsumeIntegralInRange(0, 7)) {
      case 0: return "{\"type\":\"NFC\"}";
      case 1: return "{\"type\":\"NFKC\"}";
      case 2: return "{\"type\":\"NFD\"}";
      case 3: return "{\"type\":\"NFKD\"}";
      case 4: return "{\"type\":\"Lowercase\"}";
      case 5: return "{\"type\":\"Prepend\",\"prepend\":" + quote(piece()) + "}";
      default:
        return "{\"type\":\"Replace\",\"pattern\":" + pattern() + ",\"content\":" + quote(piece()) + "}";
    }
  }

  std::string pre_tokenizer() {
    static constexpr const char* behaviors[] = {"Removed", "Isolated", "MergedWithPrevious",
                                                "MergedWithNext", "Contiguous"};
    if (in_.ConsumeBool()) {
      return "{\"type\":\"ByteLevel\",\"add_prefix_space\":" + boolean() + ",\"trim_offsets\":true," +
             "\"use_regex\":" + boolean() + "}";
    }
    return "{\"type\":\"Split\",\"pattern\":" + pattern() + ",\"behavior\":\"" +
           behaviors[in_.ConsumeIntegralInRange<std::size_t>(0, std::size(behaviors) - 1)] +
           "\",\"invert\":" + boolean() + "}";
  }

  std::string decoder() {
    switch (in_.ConsumeIntegralInRange(0, 4)) {
      case 0: return "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}";
      case 1: return "{\"type\":\"ByteFallback\"}";
      case 2: return "{\"type\":\"Fuse\"}";
      case 3:
        return "{\"type\":\"Strip\",\"content\":" + quote(piece()) + ",\"start\":" + pick_number(in_) +
               ",\"stop\":" + pick_number(in_) + "}";
      default:
        return "{\"type\":\"Replace\",\"pattern\":" + pattern() + ",\"content\":" + quote(piece()) + "}";
    }
  }

  std::string special(const std::string& token) { return "[" + quote(token) + "," + id() + "]"; }
  std::string post_processor() {
    switch (in_.ConsumeIntegralInRange(0, 3)) {
      case 0: return "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}";
      case 1: return "{\"type\":\"BertProcessing\",\"sep\":" + special("</s>") + ",\"cls\":" + special("<s>") + "}";
      case 2:
        return "{\"type\":\"RobertaProcessing\",\"sep\":" + special("</s>") + ",\"cls\":" + special("<s>") +
               ",\"trim_offsets\":true,\"add_prefix_space\":" + boolean() + "}";
      default: {
        const std::string token = in_.ConsumeBool() ? "<s>" : piece();
        std::string ids = id();
        for (int n = in_.ConsumeIntegralInRange(0, 3); n > 0; --n) ids += "," + id();
        const std::string single = "[{\"SpecialToken\":{\"id\":" + quote(token) +
                                   ",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}]";
        return "{\"type\":\"TemplateProcessing\",\"single\":" + single + ",\"pair\":" + single +
               ",\"special_tokens\":{" + quote(token) + ":{\"id\":" + quote(token) + ",\"ids\":[" + ids +
               "],\"tokens\":[" + quote(token) + "]}}}";
      }
    }
  }

  // Mostly ids the vocabulary below holds; sometimes an integer boundary.
  std::string id() {
    if (in_.ConsumeIntegralInRange(0, 3) != 0) return std::to_string(in_.ConsumeIntegralInRange(0, 40));
    return pick_number(in_);
  }

  std::string added_tokens() {
    std::string list;
    for (int n = in_.ConsumeIntegralInRange(0, 4); n > 0; --n) {
      list += std::string(list.empty() ? "" : ",") + "{\"id\":" + id() + ",\"content\":" + quote(piece()) +
              ",\"single_word\":" + boolean() + ",\"lstrip\":" + boolean() + ",\"rstrip\":" + boolean() +
              ",\"normalized\":" + boolean() + ",\"special\":" + boolean() + "}";
    }
    return "[" + list + "]";
  }

  // A BPE model over a small alphabet, with merges that build longer tokens, optionally the
  // byte-fallback tokens, and extra entries the input chooses.
  std::string model() {
    std::string vocab = "\"<unk>\":0";
    int next = 1;
    for (char c = 'a'; c <= 'z'; ++c) vocab += ",\"" + std::string(1, c) + "\":" + std::to_string(next++);
    for (const char* token : {" ", "\xe2\x96\x81", "ab", "abc"}) {
      vocab += "," + quote(token) + ":" + std::to_string(next++);
    }
    std::string merges = "\"a b\",\"ab c\"";
    const bool byte_fallback = in_.ConsumeBool();
    if (byte_fallback) {
      for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        vocab += ",\"" + std::string(name) + "\":" + std::to_string(next++);
      }
    }
    for (int n = in_.ConsumeIntegralInRange(0, 3); n > 0; --n) {
      const std::string left = piece(), right = piece();
      vocab += "," + quote(left + right) + ":" + id();
      merges += "," + (in_.ConsumeBool() ? quote(left + " " + right)
                                         : "[" + quote(left) + "," + quote(right) + "]");
    }
    return "{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":" + (in_.ConsumeBool() ? "\"<unk>\"" : quote(piece())) +
           ",\"continuing_subword_prefix\":" + (in_.ConsumeBool() ? "null" : quote(piece())) +
           ",\"end_of_word_suffix\":" + (in_.ConsumeBool() ? "null" : quote(piece())) +
           ",\"fuse_unk\":" + boolean() + ",\"byte_fallback\":" + (byte_fallback ? "true" : "false") +
           ",\"ignore_merges\":" + boolean() + ",\"vocab\":{" + vocab + "},\"merges\":[" + merges + "]}";
  }

  FuzzedDataProvider& in_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = tessera::fuzz::as_text(data, size);
  std::string json;
  std::string text = "abc ab a  \xe2\x96\x81<s></s> \xc3\xa9\n\xf0\x9f\x98\x80 A";
  if (input.starts_with(kProgram)) {
    FuzzedDataProvider in(data + kProgram.size(), size - kProgram.size());
    json = TokenizerWriter(in).tokenizer();
    text += in.ConsumeRemainingBytesAsString();
  } else {
    json = std::string(input);
  }

  try {
    const auto tokenizer = tessera::runtime::Tokenizer::from_json_text(json, "tokenizer.json");
    (void)tessera::fuzz::encode_and_decode(tokenizer, text);
    // Every id of a small vocabulary, as a model may sample any of them.
    std::vector<std::int32_t> every;
    for (std::int32_t id = 0; id < 300 && id < tokenizer.vocab_size() + 2; ++id) every.push_back(id);
    tessera::fuzz::decode_checked(tokenizer, every, false);
    tessera::fuzz::decode_checked(tokenizer, every, true);
  } catch (const tessera::Error&) {
  }
  return 0;
}
