#include "runtime/tokenizer/pre_tokenizer.hpp"

#include <optional>
#include <string_view>

#include "runtime/tokenizer/byte_level_alphabet.hpp"
#include "runtime/tokenizer/regex.hpp"

namespace tessera::runtime {
namespace {

enum class Behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

struct Span {
  std::size_t begin;
  std::size_t end;
  bool is_match;
};

// Applies HF's SplitDelimiterBehavior to a covering list of spans.
std::vector<Span> apply_behavior(const std::vector<Span>& spans, Behavior behavior) {
  std::vector<Span> out;
  switch (behavior) {
    case Behavior::isolated:
      return spans;
    case Behavior::removed:
      for (const auto& s : spans) {
        if (!s.is_match) out.push_back(s);
      }
      return out;
    case Behavior::contiguous:
      for (const auto& s : spans) {
        if (!out.empty() && s.is_match && out.back().is_match) {
          out.back().end = s.end;
        } else {
          out.push_back(s);
        }
      }
      return out;
    case Behavior::merged_with_previous: {
      bool previous_match = false;
      for (const auto& s : spans) {
        if (s.is_match && !previous_match && !out.empty()) {
          out.back().end = s.end;
        } else {
          out.push_back(s);
        }
        previous_match = s.is_match;
      }
      return out;
    }
    case Behavior::merged_with_next: {
      bool previous_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty()) {
          out.back().begin = it->begin;
        } else {
          out.push_back(*it);
        }
        previous_match = it->is_match;
      }
      return {out.rbegin(), out.rend()};
    }
  }
  return out;
}

class Split final : public PreTokenizer {
 public:
  Split(std::optional<Regex> regex, std::string literal, Behavior behavior, bool invert)
      : regex_(std::move(regex)), literal_(std::move(literal)), behavior_(behavior),
        invert_(invert) {}

  // Pieces are substrings of their input, so Split never grows the text.
  void split(std::vector<std::string>& pieces, const TextBudget&) const override {
    std::vector<std::string> out;
    out.reserve(pieces.size() * 4);
    std::vector<Span> spans;
    for (const auto& piece : pieces) {
      spans.clear();
      std::size_t last = 0;
      auto on_match = [&](std::size_t b, std::size_t e) {
        if (b > last) spans.push_back({last, b, invert_});
        spans.push_back({b, e, !invert_});
        last = e;
      };
      if (regex_) {
        regex_->for_each_match(piece, on_match);
      } else {
        for (auto at = piece.find(literal_); at != std::string::npos;
             at = piece.find(literal_, at + literal_.size())) {
          on_match(at, at + literal_.size());
        }
      }
      if (last < piece.size()) spans.push_back({last, piece.size(), invert_});
      const auto& kept = behavior_ == Behavior::isolated ? spans : apply_behavior(spans, behavior_);
      for (const auto& s : kept) {
        if (s.end > s.begin) out.emplace_back(piece, s.begin, s.end - s.begin);
      }
    }
    pieces = std::move(out);
  }

 private:
  std::optional<Regex> regex_;
  std::string literal_;
  Behavior behavior_;
  bool invert_;
};

// GPT-2's word regex, used by ByteLevel when `use_regex` is true.
constexpr const char* gpt2_pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevel final : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex, const std::string& path)
      : add_prefix_space_(add_prefix_space) {
    if (use_regex) {
      regex_.emplace(std::optional<Regex>(Regex(gpt2_pattern, path)), std::string(),
                     Behavior::isolated, false);
    }
  }

  // Each byte maps to a character of up to two bytes, so ByteLevel steps stacked in a Sequence
  // double the text each time; the running total is checked as pieces are mapped.
  void split(std::vector<std::string>& pieces, const TextBudget& budget) const override {
    if (add_prefix_space_) {
      for (auto& p : pieces) {
        if (!p.empty() && p.front() != ' ') p.insert(p.begin(), ' ');
      }
    }
    if (regex_) regex_->split(pieces, budget);
    const auto& alphabet = ByteLevelAlphabet::instance();
    std::string mapped;
    std::size_t total = 0;
    for (auto& p : pieces) {
      mapped.clear();
      alphabet.encode(p, mapped);
      total += mapped.size();
      budget.check(total, "pre_tokenizer ByteLevel");
      p.swap(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  std::optional<Split> regex_;
};

class Sequence final : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void split(std::vector<std::string>& pieces, const TextBudget& budget) const override {
    for (const auto& p : parts_) p->split(pieces, budget);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

Behavior parse_behavior(const nlohmann::json& j, const std::string& path,
                        const JsonFields& fields) {
  const std::string b = fields.string(j, "behavior", path);
  if (b == "Removed") return Behavior::removed;
  if (b == "Isolated") return Behavior::isolated;
  if (b == "MergedWithPrevious") return Behavior::merged_with_previous;
  if (b == "MergedWithNext") return Behavior::merged_with_next;
  if (b == "Contiguous") return Behavior::contiguous;
  fields.fail(path + ".behavior = \"" + b + "\"", "unsupported split behavior");
}

}  // namespace

std::unique_ptr<PreTokenizer> PreTokenizer::from_json(const nlohmann::json& j,
                                                      const std::string& path,
                                                      const JsonFields& fields) {
  if (j.is_null()) return nullptr;
  fields.object(j, path);
  fields.count_component(path);
  const std::string type = fields.string(j, "type", path);
  if (type == "Sequence") {
    const auto& list = fields.array(j, "pretokenizers", path);
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto part = from_json(list[i], path + ".pretokenizers[" + std::to_string(i) + "]", fields);
      if (part) parts.push_back(std::move(part));
    }
    return std::make_unique<Sequence>(std::move(parts));
  }
  if (type == "Split") {
    const auto& pattern = fields.object(fields.field(j, "pattern", path), path + ".pattern");
    const auto behavior = parse_behavior(j, path, fields);
    const bool invert = fields.boolean(j, "invert", path, false);
    if (pattern.contains("Regex")) {
      const std::string re = fields.string(pattern, "Regex", path + ".pattern");
      return std::make_unique<Split>(Regex(re, fields.file() + ": " + path + ".pattern.Regex"),
                                     std::string(), behavior, invert);
    }
    std::string literal = fields.string(pattern, "String", path + ".pattern");
    if (literal.empty()) fields.fail(path + ".pattern.String", "empty pattern");
    return std::make_unique<Split>(std::nullopt, std::move(literal), behavior, invert);
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevel>(fields.boolean(j, "add_prefix_space", path, true),
                                       fields.boolean(j, "use_regex", path, true),
                                       fields.file() + ": " + path);
  }
  fields.unknown_type(path, type);
}

}  // namespace tessera::runtime
