#pragma once
// A small valid byte-level BPE tokenizer.json, for tests that need a tokenizer without real
// files: ids a=0 b=1 ab=2 " "=3 c=4, and <s>=5 as a special token.
#include <nlohmann/json.hpp>

namespace tessera::test {

inline nlohmann::json tiny_tokenizer_json() {
  return nlohmann::json::parse(R"({
    "version": "1.0",
    "added_tokens": [{"id": 5, "content": "<s>", "single_word": false, "lstrip": false,
                      "rstrip": false, "normalized": false, "special": true}],
    "normalizer": null,
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "\\s+|\\S+"}, "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
    "post_processor": null,
    "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true,
                "use_regex": true},
    "model": {"type": "BPE", "dropout": null, "unk_token": null, "fuse_unk": false,
              "byte_fallback": false, "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3, "c": 4},
              "merges": ["a b"]}
  })");
}

}  // namespace tessera::test
