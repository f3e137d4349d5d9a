#pragma once
// Text normalizers from tokenizer.json's `normalizer` section (NFC for Qwen, the
// SentencePiece-style Prepend/Replace pair for Llama 2 and Gemma).
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "runtime/tokenizer/json_fields.hpp"
#include "runtime/tokenizer/text_budget.hpp"

namespace tessera::runtime {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Throws Error(tokenizer) instead of producing more than `budget` allows.
  virtual std::string normalize(std::string_view text, const TextBudget& budget) const = 0;

  // nullptr for a JSON null (no normalizer).
  static std::unique_ptr<Normalizer> from_json(const nlohmann::json& j, const std::string& path,
                                               const JsonFields& fields);
};

}  // namespace tessera::runtime
