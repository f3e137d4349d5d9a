#pragma once
// Pre-tokenizers from tokenizer.json's `pre_tokenizer` section: they cut normalized text into
// the words that the model tokenizes independently (Split with a regex, ByteLevel, Sequence).
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "runtime/tokenizer/json_fields.hpp"
#include "runtime/tokenizer/text_budget.hpp"

namespace tessera::runtime {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` by their sub-pieces, in order; empty pieces are dropped. Throws
  // Error(tokenizer) rather than let the pieces' bytes outgrow `budget`.
  virtual void split(std::vector<std::string>& pieces, const TextBudget& budget) const = 0;

  // nullptr for a JSON null (the whole text is one word).
  static std::unique_ptr<PreTokenizer> from_json(const nlohmann::json& j, const std::string& path,
                                                 const JsonFields& fields);
};

}  // namespace tessera::runtime
