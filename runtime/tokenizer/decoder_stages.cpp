#include "runtime/tokenizer/decoder_stages.hpp"

#include <optional>
#include <tuple>

#include "runtime/tokenizer/byte_level_alphabet.hpp"
#include "runtime/tokenizer/utf8.hpp"

namespace tessera::runtime::decode_stages {
namespace {

template <typename Stage, typename... Args>
std::unique_ptr<DecodeStageFactory> factory(Args... args) {
  struct F final : DecodeStageFactory {
    std::tuple<Args...> args;
    explicit F(Args... a) : args(std::move(a)...) {}
    std::unique_ptr<DecodeStage> make() const override {
      return std::apply([](const auto&... a) { return std::make_unique<Stage>(a...); }, args);
    }
  };
  return std::make_unique<F>(std::move(args)...);
}

// Stages that need whole tokens collect fragments until the token ends.
class WholeTokens {
 protected:
  bool collect(DecodePiece& piece) {
    if (piece.starts && piece.ends) {
      token_ = std::move(piece.text);
      return true;
    }
    if (piece.starts) token_.clear();
    token_ += piece.text;
    return piece.ends;
  }
  std::string token_;
};

// Joins tokens into one stream; `started_` tracks whether the joined token has begun.
class Joined {
 protected:
  void emit(std::string text, std::vector<DecodePiece>& out) {
    if (text.empty()) return;
    out.push_back(DecodePiece{std::move(text), !started_, false});
    started_ = true;
  }
  void close(std::string text, std::vector<DecodePiece>& out) {
    out.push_back(DecodePiece{std::move(text), !started_, true});
    started_ = true;
  }
  bool started_ = false;
};

// Maps each token back to bytes, then decodes all bytes as one lossy UTF-8 string.
class ByteLevel final : public DecodeStage, WholeTokens, Joined {
 public:
  void push(DecodePiece piece, std::vector<DecodePiece>& out, const TextBudget&) override {
    if (!collect(piece)) return;
    bytes_.clear();
    ByteLevelAlphabet::instance().decode_token(token_, bytes_);
    std::string text;
    lossy_.append(bytes_, text);
    emit(std::move(text), out);
  }
  void finish(std::vector<DecodePiece>& out) override {
    std::string text;
    lossy_.finish(text);
    close(std::move(text), out);
  }

 private:
  std::string bytes_;
  utf8::LossyStream lossy_;
};

class Fuse final : public DecodeStage, Joined {
 public:
  void push(DecodePiece piece, std::vector<DecodePiece>& out, const TextBudget&) override {
    emit(std::move(piece.text), out);
  }
  void finish(std::vector<DecodePiece>& out) override { close({}, out); }
};

class JoinWithSpaces final : public DecodeStage, Joined {
 public:
  void push(DecodePiece piece, std::vector<DecodePiece>& out, const TextBudget&) override {
    std::string text;
    if (piece.starts && seen_token_) text.push_back(' ');
    text += piece.text;
    seen_token_ = true;
    emit(std::move(text), out);
  }
  void finish(std::vector<DecodePiece>& out) override { close({}, out); }

 private:
  bool seen_token_ = false;
};

// Replaces a literal within each token; a fragment's tail that could begin the pattern is
// held until the next fragment shows whether it does.
class Replace final : public DecodeStage {
 public:
  Replace(const std::string& pattern, const std::string& content)
      : pattern_(pattern), content_(content) {}
  void push(DecodePiece piece, std::vector<DecodePiece>& out, const TextBudget& budget) override {
    std::string text = piece.starts ? std::move(piece.text) : held_ + piece.text;
    held_.clear();
    std::string result;
    std::size_t pos = 0;
    for (auto at = text.find(pattern_); at != std::string::npos;
         at = text.find(pattern_, pos)) {
      result.append(text, pos, at - pos);
      // Checked as it grows: each Replace of a Sequence may multiply the text.
      budget.check(result.size() + content_.size(), "decoder Replace");
      result += content_;
      pos = at + pattern_.size();
    }
    std::size_t keep = text.size();
    if (!piece.ends) {
      for (std::size_t k = std::min(pattern_.size() - 1, text.size() - pos); k > 0; --k) {
        if (text.compare(text.size() - k, k, pattern_, 0, k) == 0) {
          keep = text.size() - k;
          break;
        }
      }
      held_ = text.substr(keep);
    }
    result.append(text, pos, keep - pos);
    out.push_back(DecodePiece{std::move(result), piece.starts, piece.ends});
  }
  void finish(std::vector<DecodePiece>&) override {}

 private:
  std::string pattern_;
  std::string content_;
  std::string held_;
};

// Turns runs of <0xXX> tokens into text: the run's bytes if they are valid UTF-8, otherwise
// one U+FFFD per byte token (HF's rule, which differs from lossy decoding).
class ByteFallback final : public DecodeStage, WholeTokens {
 public:
  void push(DecodePiece piece, std::vector<DecodePiece>& out, const TextBudget&) override {
    if (!collect(piece)) return;
    if (auto byte = parse_byte(token_)) {
      run_.push_back(static_cast<char>(*byte));
      return;
    }
    flush(out);
    out.push_back(DecodePiece{std::move(token_), true, true});
  }
  void finish(std::vector<DecodePiece>& out) override { flush(out); }

 private:
  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static std::optional<unsigned char> parse_byte(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return std::nullopt;
    const int hi = hex(t[3]);
    const int lo = hex(t[4]);
    if (hi < 0 || lo < 0) return std::nullopt;
    return static_cast<unsigned char>(hi * 16 + lo);
  }
  void flush(std::vector<DecodePiece>& out) {
    if (run_.empty()) return;
    if (!utf8::first_invalid(run_)) {
      out.push_back(DecodePiece{std::move(run_), true, true});
    } else {
      for (std::size_t i = 0; i < run_.size(); ++i) {
        out.push_back(DecodePiece{std::string(utf8::replacement_char), true, true});
      }
    }
    run_.clear();
  }
  std::string run_;
};

// Removes up to `start` leading and `stop` trailing copies of one character from each token.
class Strip final : public DecodeStage {
 public:
  Strip(const std::string& content, std::size_t start, std::size_t stop)
      : content_(content), start_(start), stop_(stop) {}
  void push(DecodePiece piece, std::vector<DecodePiece>& out, const TextBudget&) override {
    if (piece.starts) {
      leading_left_ = start_;
      held_.clear();
      held_count_ = 0;
    }
    std::string result;
    const std::string& text = piece.text;
    std::size_t i = 0;
    while (i < text.size()) {
      const std::size_t begin = i;
      i += std::min(utf8::sequence_length(static_cast<unsigned char>(text[i])), text.size() - i);
      const bool is_content = text.compare(begin, i - begin, content_) == 0;
      if (is_content && leading_left_ > 0) {
        --leading_left_;
        continue;
      }
      leading_left_ = 0;
      if (is_content && stop_ > 0) {
        held_.append(text, begin, i - begin);  // may turn out to be trailing
        ++held_count_;
        continue;
      }
      result += held_;
      held_.clear();
      held_count_ = 0;
      result.append(text, begin, i - begin);
    }
    if (piece.ends) {
      const std::size_t drop = std::min(held_count_, stop_);
      result.append(held_, 0, held_.size() - drop * content_.size());
      held_.clear();
      held_count_ = 0;
    }
    out.push_back(DecodePiece{std::move(result), piece.starts, piece.ends});
  }
  void finish(std::vector<DecodePiece>&) override {}

 private:
  std::string content_;
  std::size_t start_;
  std::size_t stop_;
  std::size_t leading_left_ = 0;
  std::string held_;
  std::size_t held_count_ = 0;
};

}  // namespace

std::unique_ptr<DecodeStageFactory> byte_level() { return factory<ByteLevel>(); }
std::unique_ptr<DecodeStageFactory> replace(std::string pattern, std::string content) {
  return factory<Replace>(std::move(pattern), std::move(content));
}
std::unique_ptr<DecodeStageFactory> byte_fallback() { return factory<ByteFallback>(); }
std::unique_ptr<DecodeStageFactory> fuse() { return factory<Fuse>(); }
std::unique_ptr<DecodeStageFactory> strip(std::string content, std::size_t start,
                                          std::size_t stop) {
  return factory<Strip>(std::move(content), start, stop);
}
std::unique_ptr<DecodeStageFactory> join_with_spaces() { return factory<JoinWithSpaces>(); }

}  // namespace tessera::runtime::decode_stages
