#include "runtime/tokenizer/normalizer.hpp"

#include <utf8proc.h>

#include <cstdlib>
#include <vector>

#include "runtime/tokenizer/utf8.hpp"

namespace tessera::runtime {
namespace {

class UnicodeForm final : public Normalizer {
 public:
  explicit UnicodeForm(int options) : options_(options) {}
  std::string normalize(std::string_view text, const TextBudget& budget) const override {
    if (text.empty()) return {};
    // Pure ASCII is invariant under every normalization form; skip the library call.
    bool ascii = true;
    for (unsigned char c : text) ascii = ascii && c < 0x80;
    if (ascii) return std::string(text);
    // Compatibility decompositions expand up to 18 code points each; size the result (in code
    // points of at most 4 bytes) before utf8proc allocates it.
    const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
    const auto length = static_cast<utf8proc_ssize_t>(text.size());
    const auto code_points = utf8proc_decompose(bytes, length, nullptr, 0,
                                                static_cast<utf8proc_option_t>(options_));
    if (code_points > 0) budget.check(4 * static_cast<std::size_t>(code_points), "normalizer");
    utf8proc_uint8_t* out = nullptr;
    const auto n = utf8proc_map(bytes, length, &out, static_cast<utf8proc_option_t>(options_));
    if (n < 0) {
      throw Error(ErrorCategory::tokenizer,
                  std::string("unicode normalization failed: ") + utf8proc_errmsg(n));
    }
    std::string result(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
    std::free(out);
    return result;
  }

 private:
  int options_;
};

class Lowercase final : public Normalizer {
 public:
  std::string normalize(std::string_view text, const TextBudget& budget) const override {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
      budget.check(out.size(), "normalizer Lowercase");  // a code point may grow a byte or two
      const auto cp = utf8::next_code_point(text, i);
      utf8::append_code_point(
          out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    }
    return out;
  }
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string normalize(std::string_view text, const TextBudget& budget) const override {
    if (text.empty()) return {};  // HF leaves empty pieces empty
    budget.check(prefix_.size() + text.size(), "normalizer Prepend");
    std::string out = prefix_;
    out.append(text);
    return out;
  }

 private:
  std::string prefix_;
};

class Replace final : public Normalizer {
 public:
  Replace(std::string pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::string normalize(std::string_view text, const TextBudget& budget) const override {
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (true) {
      const auto hit = text.find(pattern_, pos);
      if (hit == std::string_view::npos) break;
      out.append(text.substr(pos, hit - pos));
      // Checked as it grows: a Sequence of Replace steps can double the text at each step.
      budget.check(out.size() + content_.size(), "normalizer Replace");
      out.append(content_);
      pos = hit + pattern_.size();
    }
    budget.check(out.size() + (text.size() - pos), "normalizer Replace");
    out.append(text.substr(pos));
    return out;
  }

 private:
  std::string pattern_;
  std::string content_;
};

class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  std::string normalize(std::string_view text, const TextBudget&) const override {
    std::size_t begin = 0;
    std::size_t end = text.size();
    if (left_) {
      while (begin < end) {
        std::size_t i = begin;
        if (!utf8::is_whitespace(utf8::next_code_point(text, i))) break;
        begin = i;
      }
    }
    if (right_) {
      while (end > begin) {
        std::size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
        std::size_t i = start;
        if (!utf8::is_whitespace(utf8::next_code_point(text, i))) break;
        end = start;
      }
    }
    return std::string(text.substr(begin, end - begin));
  }

 private:
  bool left_;
  bool right_;
};

class Sequence final : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  // Every step answers to the same budget, set by the text before the first step.
  std::string normalize(std::string_view text, const TextBudget& budget) const override {
    std::string current(text);
    for (const auto& p : parts_) current = p->normalize(current, budget);
    return current;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

// The Replace pattern is {"String": "..."} or {"Regex": "..."}; only literal strings are used by
// the supported models, so a regex pattern is reported rather than silently misapplied.
std::string literal_pattern(const nlohmann::json& obj, const std::string& path,
                            const JsonFields& fields) {
  const auto& pattern = fields.object(fields.field(obj, "pattern", path), path + ".pattern");
  if (pattern.contains("String")) return fields.string(pattern, "String", path + ".pattern");
  fields.fail(path + ".pattern", "only {\"String\": ...} patterns are supported here");
}

}  // namespace

std::unique_ptr<Normalizer> Normalizer::from_json(const nlohmann::json& j, const std::string& path,
                                                  const JsonFields& fields) {
  if (j.is_null()) return nullptr;
  fields.object(j, path);
  fields.count_component(path);
  const std::string type = fields.string(j, "type", path);
  const int stable = UTF8PROC_STABLE;
  if (type == "NFC") return std::make_unique<UnicodeForm>(stable | UTF8PROC_COMPOSE);
  if (type == "NFD") return std::make_unique<UnicodeForm>(stable | UTF8PROC_DECOMPOSE);
  if (type == "NFKC") {
    return std::make_unique<UnicodeForm>(stable | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
  }
  if (type == "NFKD") {
    return std::make_unique<UnicodeForm>(stable | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
  }
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Prepend") return std::make_unique<Prepend>(fields.string(j, "prepend", path));
  if (type == "Replace") {
    auto pattern = literal_pattern(j, path, fields);
    if (pattern.empty()) fields.fail(path + ".pattern", "empty pattern");
    return std::make_unique<Replace>(std::move(pattern), fields.string(j, "content", path));
  }
  if (type == "Strip") {
    return std::make_unique<Strip>(fields.boolean(j, "strip_left", path, false),
                                   fields.boolean(j, "strip_right", path, false));
  }
  if (type == "Sequence") {
    const auto& list = fields.array(j, "normalizers", path);
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto part = from_json(list[i], path + ".normalizers[" + std::to_string(i) + "]", fields);
      if (part) parts.push_back(std::move(part));
    }
    return std::make_unique<Sequence>(std::move(parts));
  }
  fields.unknown_type(path, type);
}

}  // namespace tessera::runtime
