#pragma once
// A compiled PCRE2 pattern (UTF + Unicode properties, JIT when available) for the Split
// pre-tokenizer. Patterns in tokenizer.json are written for Oniguruma; the few places where
// PCRE2 differs are translated at compile time (see regex.cpp).
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tessera::runtime {

class Regex {
 public:
  // Throws tessera::Error (tokenizer) naming `where` when the pattern does not compile.
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  // Calls on_match(begin, end) for each non-overlapping, non-empty match, left to right.
  // `text` must be valid UTF-8.
  void for_each_match(std::string_view text,
                      const std::function<void(std::size_t, std::size_t)>& on_match) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Oniguruma's \s also matches U+0085 (NEL), PCRE2's does not; rewrite so both agree.
std::string translate_oniguruma_pattern(const std::string& pattern);

}  // namespace tessera::runtime
