#include "runtime/tokenizer/text_budget.hpp"

#include <limits>
#include <string>

#include "runtime/core/error.hpp"

namespace tessera::runtime {

TextBudget::TextBudget(std::size_t input_bytes) : input_(input_bytes) {
  constexpr std::size_t most = std::numeric_limits<std::size_t>::max();
  max_ = input_bytes > (most - kTextGrowthAllowance) / kMaxTextGrowthFactor
             ? most
             : input_bytes * kMaxTextGrowthFactor + kTextGrowthAllowance;
}

TextBudget TextBudget::after(std::size_t used) const {
  return TextBudget(input_, used >= max_ ? 0 : max_ - used);
}

void TextBudget::exceeded(std::string_view component) const {
  throw Error(ErrorCategory::tokenizer,
              "tokenizer " + std::string(component) + " makes more text than tessera's limit of " +
                  std::to_string(kMaxTextGrowthFactor) + " x the input (" +
                  std::to_string(input_) + " bytes) + " + std::to_string(kTextGrowthAllowance) +
                  " bytes");
}

}  // namespace tessera::runtime
