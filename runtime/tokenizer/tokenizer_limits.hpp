#pragma once
// What a tokenizer.json may ask of tessera. The file is downloaded input; each bound stops one
// way a small hostile file turns into a huge table, a deep recursion or work without end, and
// each is far above what released tokenizers use (largest today: 262,144 vocabulary entries,
// 6,415 added tokens of at most 93 bytes, about ten components in all).
#include <cstddef>
#include <cstdint>

namespace tessera::runtime::tokenizer_limits {

// Files read whole and parsed into a tree several times their size (largest real ones: Gemma 3's
// tokenizer.json, 33 MB, and tokenizer_config.json, 1.2 MB).
inline constexpr std::uintmax_t kMaxTokenizerFileBytes = std::uintmax_t{512} << 20;
inline constexpr std::uintmax_t kMaxTokenizerConfigBytes = std::uintmax_t{64} << 20;

// Token ids index tables sized by the largest id, so ids are bounded outright and, for the
// model vocabulary, by how many entries there are: holes are allowed (added tokens often sit
// between model ids) but a 50,000,000 id in a three-entry vocabulary is not.
inline constexpr std::int64_t kMaxTokenId = (std::int64_t{1} << 24) - 1;
inline constexpr std::int64_t kVocabIdSpanFactor = 2;  // ids < factor * entries + slack
inline constexpr std::int64_t kVocabIdSlack = 1024;

// Normalizers, pre-tokenizers, post-processors and decoders in one file, Sequences included.
// Each runs over every encoded or decoded text, so a file with a million flat Replace steps
// would make every request a million passes.
inline constexpr std::size_t kMaxComponents = 256;

// Added tokens are matched with a byte trie whose nodes cost far more than the bytes they hold,
// and matching may walk a token's length from every input position.
inline constexpr std::size_t kMaxAddedTokenBytes = 1024;          // one token's content
inline constexpr std::size_t kMaxAddedTokensTotalBytes = 1 << 19;  // all contents together

// Regex (Split) matching, per match, in PCRE2's units: a pattern with catastrophic backtracking
// fails the one encode with an Error naming it. PCRE2's defaults allow the same steps but 20 GB
// of backtracking heap; real patterns use a few dozen steps per match and almost no heap.
inline constexpr std::uint32_t kRegexMatchLimit = 10'000'000;
inline constexpr std::uint32_t kRegexDepthLimit = 100'000;
inline constexpr std::uint32_t kRegexHeapLimitKiB = 64 * 1024;

}  // namespace tessera::runtime::tokenizer_limits
