#define PCRE2_CODE_UNIT_WIDTH 8
#include "runtime/tokenizer/regex.hpp"

#include <pcre2.h>

#include <new>
#include <string>

#include "runtime/core/error.hpp"
#include "runtime/tokenizer/tokenizer_limits.hpp"

namespace tessera::runtime {

struct Regex::Impl {
  pcre2_code* code = nullptr;
  // The match limits; read-only once set, so every thread can match with it.
  pcre2_match_context* limits = nullptr;
  std::string where;
  ~Impl() {
    if (code) pcre2_code_free(code);
    if (limits) pcre2_match_context_free(limits);
  }
};

namespace {

// Match data is per thread so concurrent encodes of one tokenizer never share it.
struct MatchData {
  pcre2_match_data* data = pcre2_match_data_create(4, nullptr);
  ~MatchData() { pcre2_match_data_free(data); }
};

}  // namespace

std::string translate_oniguruma_pattern(const std::string& pattern) {
  std::string out;
  out.reserve(pattern.size() + 16);
  int class_depth = 0;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[i + 1];
      ++i;
      if (e == 's') {
        out += class_depth > 0 ? "\\s\\x{85}" : "[\\s\\x{85}]";
      } else if (e == 'S' && class_depth == 0) {
        out += "[^\\s\\x{85}]";
      } else {
        out += '\\';
        out += e;
      }
      continue;
    }
    if (c == '[') {
      ++class_depth;
      out += c;
      // A ']' right after '[' or '[^' is a literal, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && class_depth > 0) --class_depth;
    out += c;
  }
  return out;
}

Regex::Regex(const std::string& pattern, const std::string& where) : impl_(new Impl) {
  const std::string translated = translate_oniguruma_pattern(pattern);
  int error = 0;
  PCRE2_SIZE offset = 0;
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                              PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error, &offset,
                              nullptr);
  if (!impl_->code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    throw Error(ErrorCategory::tokenizer, where + ": regex does not compile at offset " +
                                              std::to_string(offset) + ": " +
                                              reinterpret_cast<const char*>(message));
  }
  // JIT is an optimization only; the interpreter gives the same matches when it is missing.
  pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE);
  // A pattern from tokenizer.json may backtrack catastrophically ((a+)+$ and the like): bound
  // each match so the encode fails instead of running for hours.
  impl_->where = where;
  impl_->limits = pcre2_match_context_create(nullptr);
  if (!impl_->limits) throw std::bad_alloc();
  pcre2_set_match_limit(impl_->limits, tokenizer_limits::kRegexMatchLimit);
  pcre2_set_depth_limit(impl_->limits, tokenizer_limits::kRegexDepthLimit);
  pcre2_set_heap_limit(impl_->limits, tokenizer_limits::kRegexHeapLimitKiB);
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

void Regex::for_each_match(std::string_view text,
                           const std::function<void(std::size_t, std::size_t)>& on_match) const {
  thread_local MatchData match;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const int rc = pcre2_match(impl_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK,
                               match.data, impl_->limits);
    if (rc == PCRE2_ERROR_NOMATCH) return;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      const bool limit = rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
                         rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT;
      throw Error(ErrorCategory::tokenizer,
                  impl_->where + ": regex match failed at byte " + std::to_string(pos) + ": " +
                      reinterpret_cast<const char*>(message) +
                      (limit ? " (tessera's limits: " +
                                   std::to_string(tokenizer_limits::kRegexMatchLimit) +
                                   " match steps, " +
                                   std::to_string(tokenizer_limits::kRegexHeapLimitKiB) +
                                   " KiB of backtracking memory)"
                             : std::string()));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match.data);
    const std::size_t begin = ov[0];
    const std::size_t end = ov[1];
    if (end > begin) {
      on_match(begin, end);
      pos = end;
    } else {
      // An empty match splits nothing; step over one character to make progress.
      if (begin >= text.size()) return;
      pos = begin + 1;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
    }
  }
}

}  // namespace tessera::runtime
