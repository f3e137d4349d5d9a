#include "net/openai/prompt_bound.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "runtime/core/json_parse.hpp"
#include "runtime/tokenizer/byte_level_alphabet.hpp"

namespace tessera::net {
namespace {

using Json = nlohmann::json;

constexpr std::int64_t kMaxIds = std::int64_t{1} << 24;

std::string type_of(const Json& stage) {
  if (!stage.is_object()) return {};
  const auto it = stage.find("type");
  return it != stage.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// How many bytes of the client's text one byte of normalized text stands for at most; nullopt
// when a stage may delete text outright.
std::optional<std::int64_t> normalizer_shrink(const Json& normalizer) {
  if (normalizer.is_null()) return 1;
  const std::string type = type_of(normalizer);
  if (type == "Prepend") return 1;
  // A Unicode form or case mapping folds at most 4 bytes into 1 (the Kelvin sign's 3 into "k";
  // Hangul jamo 9 into a 3-byte syllable; a base and two marks, 5 bytes, into 2).
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD" || type == "Lowercase") return 4;
  if (type == "Replace") {
    const auto& pattern = normalizer.value("pattern", Json::object());
    const auto content = normalizer.value("content", std::string());
    if (!pattern.is_object() || !pattern.contains("String") || !pattern["String"].is_string() ||
        content.empty()) {
      return std::nullopt;
    }
    const auto from = static_cast<std::int64_t>(pattern["String"].get<std::string>().size());
    const auto to = static_cast<std::int64_t>(content.size());
    return std::max<std::int64_t>(1, (from + to - 1) / to);
  }
  if (type == "Sequence" && normalizer.contains("normalizers") && normalizer["normalizers"].is_array()) {
    std::int64_t factor = 1;
    for (const auto& part : normalizer["normalizers"]) {
      const auto shrink = normalizer_shrink(part);
      if (!shrink) return std::nullopt;
      factor = std::min<std::int64_t>(factor * *shrink, 1 << 20);
    }
    return factor;
  }
  return std::nullopt;  // Strip, or anything not known to keep text
}

bool pre_tokenizer_keeps_text(const Json& pre) {
  if (pre.is_null()) return true;
  const std::string type = type_of(pre);
  if (type == "ByteLevel") return true;
  if (type == "Split") return pre.value("behavior", std::string()) != "Removed";
  if (type == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array()) {
    const auto& parts = pre["pretokenizers"];
    return std::all_of(parts.begin(), parts.end(), pre_tokenizer_keeps_text);
  }
  return false;
}

bool uses_byte_level(const Json& pre) {
  if (type_of(pre) == "ByteLevel") return true;
  if (type_of(pre) != "Sequence" || !pre.contains("pretokenizers") || !pre["pretokenizers"].is_array()) {
    return false;
  }
  const auto& parts = pre["pretokenizers"];
  return std::any_of(parts.begin(), parts.end(), uses_byte_level);
}

// Whether every character reaches a token: through the byte-level alphabet, byte fallback, or
// one unknown token each (a fused unknown token swallows any run of them).
bool every_character_has_a_token(const Json& model, const Json& pre, const runtime::Tokenizer& tokenizer) {
  const auto all_bytes = [&](auto token_of) {
    for (int byte = 0; byte < 256; ++byte) {
      if (!tokenizer.token_to_id(token_of(static_cast<unsigned char>(byte)))) return false;
    }
    return true;
  };
  if (uses_byte_level(pre) &&
      all_bytes([](unsigned char b) { return std::string(runtime::ByteLevelAlphabet::instance().encode(b)); })) {
    return true;
  }
  if (model.value("byte_fallback", false) && all_bytes([](unsigned char b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        return std::string(name);
      })) {
    return true;
  }
  const auto unk = model.find("unk_token");
  return unk != model.end() && unk->is_string() && !model.value("fuse_unk", false);
}

}  // namespace

PromptBound PromptBound::for_tokenizer(const std::filesystem::path& model_dir,
                                       const runtime::Tokenizer& tokenizer,
                                       std::int64_t id_limit) {
  const auto file = model_dir / "tokenizer.json";
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  PromptBound bound;
  Json json;
  try {
    json = parse_json(text.str(), file.string(), ErrorCategory::tokenizer);
  } catch (const Error&) {
    return bound;  // the tokenizer loaded it; whatever this is, no bound is the safe answer
  }
  const auto& model = json.value("model", Json::object());
  const auto& pre = json.value("pre_tokenizer", Json());
  const auto shrink = normalizer_shrink(json.value("normalizer", Json()));
  if (!model.is_object() || type_of(model) != "BPE" || !shrink || !pre_tokenizer_keeps_text(pre) ||
      !every_character_has_a_token(model, pre, tokenizer)) {
    return bound;
  }
  // An unknown token stands for one character: up to 4 bytes.
  std::int64_t longest = 4;
  // Looking at each id once is cheap for any real vocabulary; a config.json that claims billions
  // gets no bound rather than a start-up that takes minutes.
  const auto ids = std::max(tokenizer.vocab_size(), id_limit);
  if (ids > kMaxIds) return bound;
  for (std::int64_t id = 0; id < ids; ++id) {
    try {
      if (const auto* piece = tokenizer.decode_piece(static_cast<std::int32_t>(id), false)) {
        longest = std::max<std::int64_t>(longest, static_cast<std::int64_t>(piece->size()));
      }
    } catch (const Error&) {  // an id the vocabulary skips
    }
  }
  bound.max_bytes_per_token_ = longest * *shrink;
  return bound;
}

std::int64_t PromptBound::min_tokens(std::size_t bytes) const {
  if (!max_bytes_per_token_) return 0;
  const auto b = static_cast<std::int64_t>(bytes);
  return (b + *max_bytes_per_token_ - 1) / *max_bytes_per_token_;
}

}  // namespace tessera::net
