#pragma once
// Post-processors from tokenizer.json's `post_processor` section: they add the special tokens
// (BOS, CLS/SEP) around an encoded sequence when add_special_tokens is requested.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/tokenizer/json_fields.hpp"

namespace tessera::runtime {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Returns the single-sequence encoding with special tokens added.
  virtual std::vector<std::int32_t> process(std::vector<std::int32_t> ids) const = 0;

  // nullptr for a JSON null.
  static std::unique_ptr<PostProcessor> from_json(const nlohmann::json& j, const std::string& path,
                                                  const JsonFields& fields);
};

}  // namespace tessera::runtime
