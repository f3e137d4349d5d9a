#include "runtime/tokenizer/bpe_model.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <queue>

#include "runtime/tokenizer/tokenizer_limits.hpp"
#include "runtime/tokenizer/utf8.hpp"

namespace tessera::runtime {
namespace {

constexpr std::size_t max_cached_word_bytes = 128;
constexpr std::size_t max_cache_entries = 200000;
// Below this many symbols a linear scan for the best pair beats a heap.
constexpr std::size_t heap_threshold = 48;

struct Symbol {
  std::int32_t id;
  std::int32_t prev;
  std::int32_t next;
  std::int32_t rank;    // rank of the merge of this symbol with `next`, or max when none
  std::int32_t result;  // id that merge produces
  std::uint32_t version;
  bool alive;
};

constexpr std::int32_t no_rank = std::numeric_limits<std::int32_t>::max();

}  // namespace

BpeModel::BpeModel(BpeModel&& other) noexcept
    : vocab_(std::move(other.vocab_)), id_to_token_(std::move(other.id_to_token_)),
      has_id_(std::move(other.has_id_)), merges_(std::move(other.merges_)),
      unk_id_(other.unk_id_),
      continuing_subword_prefix_(std::move(other.continuing_subword_prefix_)),
      end_of_word_suffix_(std::move(other.end_of_word_suffix_)), fuse_unk_(other.fuse_unk_),
      byte_fallback_(other.byte_fallback_), ignore_merges_(other.ignore_merges_),
      cache_(std::move(other.cache_)) {
  std::copy(std::begin(other.byte_ids_), std::end(other.byte_ids_), byte_ids_);
}

BpeModel BpeModel::from_json(const nlohmann::json& model, const std::string& path,
                             const JsonFields& fields) {
  BpeModel m;
  const auto& vocab = fields.field(model, "vocab", path);
  if (!vocab.is_object()) fields.fail(path + ".vocab", "expected an object of token -> id");
  m.vocab_.reserve(vocab.size());
  // id_to_token_ is sized by the largest id, so ids are bounded by how many entries there are.
  const auto entries = static_cast<std::int64_t>(vocab.size());
  using namespace tokenizer_limits;
  const std::int64_t id_limit =
      std::min(kMaxTokenId, kVocabIdSpanFactor * entries + kVocabIdSlack - 1);
  std::int32_t max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const std::string where = path + ".vocab[\"" + it.key() + "\"]";
    if (!it.value().is_number_integer() || it.value().get<long long>() < 0) {
      fields.fail(where, "expected a non-negative integer id");
    }
    if (it.value().get<long long>() > id_limit) {
      fields.fail(where, "id " + std::to_string(it.value().get<long long>()) +
                             " is past tessera's limit of " + std::to_string(id_limit) + " for " +
                             std::to_string(entries) + " entries (at most " +
                             std::to_string(kVocabIdSpanFactor) + " x entries + " +
                             std::to_string(kVocabIdSlack) + ", and below 2^24)");
    }
    const auto id = static_cast<std::int32_t>(it.value().get<long long>());
    m.vocab_.emplace(it.key(), id);
    max_id = std::max(max_id, id);
  }
  m.id_to_token_.resize(static_cast<std::size_t>(max_id + 1));
  m.has_id_.assign(static_cast<std::size_t>(max_id + 1), false);
  for (const auto& [token, id] : m.vocab_) {
    m.id_to_token_[static_cast<std::size_t>(id)] = token;
    m.has_id_[static_cast<std::size_t>(id)] = true;
  }

  const std::string unk = fields.optional_string(model, "unk_token", path);
  if (!unk.empty()) {
    auto it = m.vocab_.find(unk);
    if (it == m.vocab_.end()) fields.fail(path + ".unk_token", "\"" + unk + "\" is not in vocab");
    m.unk_id_ = it->second;
  }
  m.continuing_subword_prefix_ = fields.optional_string(model, "continuing_subword_prefix", path);
  m.end_of_word_suffix_ = fields.optional_string(model, "end_of_word_suffix", path);
  m.fuse_unk_ = fields.boolean(model, "fuse_unk", path, false);
  m.byte_fallback_ = fields.boolean(model, "byte_fallback", path, false);
  m.ignore_merges_ = fields.boolean(model, "ignore_merges", path, false);
  auto dropout = model.find("dropout");
  if (dropout != model.end() && !dropout->is_null()) {
    if (!dropout->is_number() || dropout->get<double>() != 0.0) {
      fields.fail(path + ".dropout", "BPE dropout is not supported for inference");
    }
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    auto it = m.vocab_.find(std::string_view(name));
    m.byte_ids_[b] = it == m.vocab_.end() ? -1 : it->second;
  }

  // Merges come as "left right" strings (older files) or ["left", "right"] pairs.
  const auto& merges = fields.array(model, "merges", path);
  m.merges_.reserve(merges.size());
  const std::size_t prefix_len = m.continuing_subword_prefix_.size();
  for (std::size_t i = 0; i < merges.size(); ++i) {
    const std::string where = path + ".merges[" + std::to_string(i) + "]";
    std::string left;
    std::string right;
    const auto& entry = merges[i];
    if (entry.is_string()) {
      const auto& s = entry.get_ref<const std::string&>();
      const auto space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        fields.fail(where, "expected \"left right\" with exactly one space");
      }
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() &&
               entry[1].is_string()) {
      left = entry[0].get<std::string>();
      right = entry[1].get<std::string>();
    } else {
      fields.fail(where, "expected a \"left right\" string or a [left, right] pair");
    }
    auto l = m.vocab_.find(left);
    auto r = m.vocab_.find(right);
    if (l == m.vocab_.end()) fields.fail(where, "token \"" + left + "\" is not in vocab");
    if (r == m.vocab_.end()) fields.fail(where, "token \"" + right + "\" is not in vocab");
    // The right part of a merge carries the continuation prefix, which the joined token does not.
    std::string joined = left;
    joined.append(right.size() >= prefix_len && right.compare(0, prefix_len,
                                                              m.continuing_subword_prefix_) == 0
                      ? right.substr(prefix_len)
                      : right);
    auto j = m.vocab_.find(joined);
    if (j == m.vocab_.end()) fields.fail(where, "merged token \"" + joined + "\" is not in vocab");
    m.merges_.insert(l->second, r->second, Merge{static_cast<std::int32_t>(i), j->second});
  }
  return m;
}

std::optional<std::int32_t> BpeModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(std::int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= has_id_.size() ||
      !has_id_[static_cast<std::size_t>(id)]) {
    return nullptr;
  }
  return &id_to_token_[static_cast<std::size_t>(id)];
}

void BpeModel::tokenize(std::string_view word, std::vector<std::int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    auto it = vocab_.find(word);
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() <= max_cached_word_bytes;
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const std::size_t start = out.size();
  merge_word(word, out);
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() < max_cache_entries) {
      cache_.emplace(std::string(word),
                     std::vector<std::int32_t>(out.begin() + static_cast<std::ptrdiff_t>(start),
                                               out.end()));
    }
  }
}

void BpeModel::initial_symbols(std::string_view word, std::vector<std::int32_t>& ids) const {
  const bool affixes = !continuing_subword_prefix_.empty() || !end_of_word_suffix_.empty();
  bool pending_unk = false;  // the last symbol is an unknown that later unknowns may fuse into
  std::string piece;
  std::size_t i = 0;
  while (i < word.size()) {
    const std::size_t begin = i;
    i += std::min(utf8::sequence_length(static_cast<unsigned char>(word[i])), word.size() - i);
    std::string_view ch = word.substr(begin, i - begin);
    if (affixes) {
      piece.clear();
      if (begin > 0) piece += continuing_subword_prefix_;
      piece.append(ch);
      if (i == word.size()) piece += end_of_word_suffix_;
      ch = piece;
    }
    auto it = vocab_.find(ch);
    if (it != vocab_.end()) {
      ids.push_back(it->second);
      pending_unk = false;
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (std::size_t k = begin; k < i; ++k) {
        all = all && byte_ids_[static_cast<unsigned char>(word[k])] >= 0;
      }
      if (all) {
        for (std::size_t k = begin; k < i; ++k) {
          ids.push_back(byte_ids_[static_cast<unsigned char>(word[k])]);
        }
        pending_unk = false;
        continue;
      }
    }
    if (!unk_id_) continue;  // HF drops characters it cannot represent at all
    // With fuse_unk a run of unknown characters becomes a single unknown token.
    if (!(pending_unk && fuse_unk_)) ids.push_back(*unk_id_);
    pending_unk = true;
  }
}

void BpeModel::merge_word(std::string_view word, std::vector<std::int32_t>& out) const {
  thread_local std::vector<std::int32_t> ids;
  thread_local std::vector<Symbol> symbols;
  ids.clear();
  initial_symbols(word, ids);
  const std::size_t n = ids.size();
  if (n <= 1) {
    out.insert(out.end(), ids.begin(), ids.end());
    return;
  }
  symbols.resize(n);
  auto pair_of = [&](std::size_t s) {
    Symbol& sym = symbols[s];
    sym.rank = no_rank;
    if (sym.next < 0) return;
    if (const Merge* m = merges_.find(sym.id, symbols[static_cast<std::size_t>(sym.next)].id)) {
      sym.rank = m->rank;
      sym.result = m->result;
    }
  };
  for (std::size_t s = 0; s < n; ++s) {
    symbols[s] = Symbol{ids[s], static_cast<std::int32_t>(s) - 1,
                        s + 1 < n ? static_cast<std::int32_t>(s + 1) : -1, no_rank, -1, 0, true};
  }
  for (std::size_t s = 0; s + 1 < n; ++s) pair_of(s);

  // Joins symbol s with its successor and refreshes the two pairs that changed.
  auto apply = [&](std::size_t s) {
    Symbol& sym = symbols[s];
    Symbol& nxt = symbols[static_cast<std::size_t>(sym.next)];
    sym.id = sym.result;
    nxt.alive = false;
    sym.next = nxt.next;
    if (sym.next >= 0) {
      symbols[static_cast<std::size_t>(sym.next)].prev = static_cast<std::int32_t>(s);
    }
    ++sym.version;
    pair_of(s);
    if (sym.prev >= 0) {
      auto& before = symbols[static_cast<std::size_t>(sym.prev)];
      ++before.version;
      pair_of(static_cast<std::size_t>(sym.prev));
    }
  };

  if (n < heap_threshold) {
    // The lowest rank wins; among equal ranks the leftmost, exactly as HF's heap orders them.
    while (true) {
      std::int32_t best_rank = no_rank;
      std::int32_t best = -1;
      for (std::int32_t s = 0; s >= 0; s = symbols[static_cast<std::size_t>(s)].next) {
        if (symbols[static_cast<std::size_t>(s)].rank < best_rank) {
          best_rank = symbols[static_cast<std::size_t>(s)].rank;
          best = s;
        }
      }
      if (best < 0) break;
      apply(static_cast<std::size_t>(best));
    }
  } else {
    struct Entry {
      std::int32_t rank;
      std::int32_t pos;
      std::uint32_t version;
      bool operator>(const Entry& o) const {
        return rank != o.rank ? rank > o.rank : pos > o.pos;
      }
    };
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
    for (std::size_t s = 0; s < n; ++s) {
      if (symbols[s].rank != no_rank) {
        heap.push({symbols[s].rank, static_cast<std::int32_t>(s), symbols[s].version});
      }
    }
    while (!heap.empty()) {
      const Entry e = heap.top();
      heap.pop();
      const Symbol& sym = symbols[static_cast<std::size_t>(e.pos)];
      if (!sym.alive || sym.version != e.version || sym.rank != e.rank) continue;
      apply(static_cast<std::size_t>(e.pos));
      const Symbol& merged = symbols[static_cast<std::size_t>(e.pos)];
      if (merged.rank != no_rank) heap.push({merged.rank, e.pos, merged.version});
      if (merged.prev >= 0) {
        const Symbol& before = symbols[static_cast<std::size_t>(merged.prev)];
        if (before.rank != no_rank) heap.push({before.rank, merged.prev, before.version});
      }
    }
  }
  for (std::int32_t s = 0; s >= 0; s = symbols[static_cast<std::size_t>(s)].next) {
    out.push_back(symbols[static_cast<std::size_t>(s)].id);
  }
}

}  // namespace tessera::runtime
