#include "runtime/tokenizer/added_tokens.hpp"

#include "runtime/tokenizer/normalizer.hpp"
#include "runtime/tokenizer/tokenizer_limits.hpp"
#include "runtime/tokenizer/utf8.hpp"

namespace tessera::runtime {
namespace {

char32_t code_point_before(std::string_view s, std::size_t end) {
  std::size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return utf8::next_code_point(s, start);
}

}  // namespace

AddedTokens AddedTokens::from_json(const nlohmann::json& list, const std::string& path,
                                   const JsonFields& fields, const Normalizer* normalizer) {
  AddedTokens added;
  if (list.is_null()) return added;
  if (!list.is_array()) fields.fail(path, "expected an array");
  std::size_t total_bytes = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string where = path + "[" + std::to_string(i) + "]";
    const auto& j = fields.object(list[i], where);
    AddedToken t;
    t.id = static_cast<std::int32_t>(
        fields.integer(j, "id", where, 0, tokenizer_limits::kMaxTokenId));
    t.content = fields.string(j, "content", where);
    // Each content byte becomes a trie node (and is normalized), so contents are bounded.
    if (t.content.size() > tokenizer_limits::kMaxAddedTokenBytes) {
      fields.fail(where + ".content", std::to_string(t.content.size()) +
                                          " bytes, more than tessera's limit of " +
                                          std::to_string(tokenizer_limits::kMaxAddedTokenBytes));
    }
    total_bytes += t.content.size();
    if (total_bytes > tokenizer_limits::kMaxAddedTokensTotalBytes) {
      fields.fail(where + ".content",
                  "added tokens hold more than tessera's limit of " +
                      std::to_string(tokenizer_limits::kMaxAddedTokensTotalBytes) + " bytes in all");
    }
    t.single_word = fields.boolean(j, "single_word", where, false);
    t.lstrip = fields.boolean(j, "lstrip", where, false);
    t.rstrip = fields.boolean(j, "rstrip", where, false);
    t.normalized = fields.boolean(j, "normalized", where, true);
    t.special = fields.boolean(j, "special", where, false);
    if (t.content.empty()) continue;  // HF ignores empty added tokens
    if (utf8::first_invalid(t.content)) fields.fail(where + ".content", "invalid UTF-8");
    added.by_content_[t.content] = t.id;
    added.by_id_[t.id] = added.tokens_.size();
    added.tokens_.push_back(std::move(t));
  }
  // HF builds its matchers from the special tokens first, then the others; the trie gives the
  // same leftmost-longest result whatever the order.
  for (std::size_t k = 0; k < added.tokens_.size(); ++k) {
    const auto& t = added.tokens_[k];
    if (!t.normalized) {
      added.raw_.add(t.content, k);
    } else {
      const std::string pattern =
          normalizer ? normalizer->normalize(t.content, TextBudget(t.content.size())) : t.content;
      if (!pattern.empty()) added.normalized_.add(pattern, k);
    }
  }
  return added;
}

const AddedToken* AddedTokens::by_id(std::int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<std::int32_t> AddedTokens::id_of(std::string_view content) const {
  auto it = by_content_.find(content);
  if (it == by_content_.end()) return std::nullopt;
  return it->second;
}

bool AddedTokens::is_special_content(std::string_view content) const {
  auto it = by_content_.find(content);
  if (it == by_content_.end()) return false;
  const AddedToken* t = by_id(it->second);
  return t && t->special;
}

void AddedTokens::Matcher::add(std::string_view pattern, std::size_t token_index) {
  std::uint32_t node = 0;
  for (unsigned char c : pattern) {
    auto it = nodes_[node].children.find(c);
    if (it == nodes_[node].children.end()) {
      nodes_.push_back(Node{});
      const auto child = static_cast<std::uint32_t>(nodes_.size() - 1);
      nodes_[node].children.emplace(c, child);
      node = child;
    } else {
      node = it->second;
    }
  }
  if (nodes_[node].token < 0) nodes_[node].token = static_cast<std::int64_t>(token_index);
  first_byte_[static_cast<unsigned char>(pattern.front())] = true;
}

std::pair<std::size_t, std::size_t> AddedTokens::Matcher::longest_at(std::string_view text,
                                                                     std::size_t pos) const {
  std::pair<std::size_t, std::size_t> best{0, 0};
  std::uint32_t node = 0;
  for (std::size_t i = pos; i < text.size(); ++i) {
    const auto& children = nodes_[node].children;
    auto it = children.find(static_cast<unsigned char>(text[i]));
    if (it == children.end()) break;
    node = it->second;
    if (nodes_[node].token >= 0) best = {i + 1 - pos, static_cast<std::size_t>(nodes_[node].token)};
  }
  return best;
}

void AddedTokens::Matcher::split(std::string_view text, const std::vector<AddedToken>& tokens,
                                 std::vector<TextSegment>& out) const {
  if (empty()) {
    if (!text.empty()) out.push_back({text, -1});
    return;
  }
  std::size_t emitted = 0;  // text before this offset is already in `out`
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    const auto [length, index] = longest_at(text, pos);
    if (length == 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens[index];
    std::size_t start = pos;
    std::size_t stop = pos + length;
    pos = stop;  // like an Aho-Corasick iterator, scanning resumes after a rejected match too
    if (token.single_word) {
      const bool word_before = start > 0 && utf8::is_word_char(code_point_before(text, start));
      std::size_t after = stop;
      const bool word_after =
          stop < text.size() && utf8::is_word_char(utf8::next_code_point(text, after));
      if (word_before || word_after) continue;
    }
    if (token.lstrip) {
      while (start > emitted && utf8::is_whitespace(code_point_before(text, start))) {
        std::size_t s = start - 1;
        while (s > 0 && (static_cast<unsigned char>(text[s]) & 0xC0) == 0x80) --s;
        start = s;
      }
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        std::size_t next = stop;
        if (!utf8::is_whitespace(utf8::next_code_point(text, next))) break;
        stop = next;
      }
      pos = std::max(pos, stop);
    }
    if (start > emitted) out.push_back({text.substr(emitted, start - emitted), -1});
    out.push_back({text.substr(start, stop - start), token.id});
    emitted = stop;
  }
  if (emitted < text.size()) out.push_back({text.substr(emitted), -1});
}

}  // namespace tessera::runtime
