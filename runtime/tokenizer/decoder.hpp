#pragma once
// Decoders from tokenizer.json's `decoder` section, turning token strings back into text.
// Every decoder is written as a stream of stages, and one-shot decoding is the same stream run
// to the end, so streamed text always concatenates to exactly what decode() returns.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/tokenizer/json_fields.hpp"
#include "runtime/tokenizer/text_budget.hpp"

namespace tessera::runtime {

// A fragment of a token flowing between stages. Stages that join tokens (ByteLevel, Fuse)
// emit one long token in fragments; `starts`/`ends` mark token boundaries.
struct DecodePiece {
  std::string text;
  bool starts = true;
  bool ends = true;
};

class DecodeStage {
 public:
  virtual ~DecodeStage() = default;
  // `budget` is what this stage may still emit; a stage that can expand text without bound
  // (Replace) checks it as it goes, the stream checks the rest after each push.
  virtual void push(DecodePiece piece, std::vector<DecodePiece>& out, const TextBudget& budget) = 0;
  virtual void finish(std::vector<DecodePiece>& out) = 0;
};

class DecodeStageFactory {
 public:
  virtual ~DecodeStageFactory() = default;
  virtual std::unique_ptr<DecodeStage> make() const = 0;
};

// The running state of one decode: push token strings, read back text that is final. What each
// stage emits over the whole stream is bounded by a TextBudget of all the token bytes pushed, so
// a chain of expanding stages fails the decode with an Error instead of exhausting memory.
class DecodeStream {
 public:
  explicit DecodeStream(std::vector<std::unique_ptr<DecodeStage>> stages)
      : stages_(std::move(stages)), emitted_(stages_.size(), 0) {}
  void push(std::string_view token, std::string& out);
  void finish(std::string& out);

 private:
  void run_from(std::size_t stage, std::vector<DecodePiece> pieces, std::string& out);
  // Counts what stage `s` just appended to `out` from index `first` on, and checks the total.
  void account(std::size_t s, const std::vector<DecodePiece>& out, std::size_t first);
  std::vector<std::unique_ptr<DecodeStage>> stages_;
  std::size_t input_bytes_ = 0;
  std::vector<std::size_t> emitted_;  // bytes each stage has emitted so far
};

class Decoder {
 public:
  // A JSON null gives HF's default: tokens joined by single spaces.
  static Decoder from_json(const nlohmann::json& j, const std::string& path,
                           const JsonFields& fields);
  DecodeStream start() const;

 private:
  std::vector<std::shared_ptr<const DecodeStageFactory>> factories_;
};

}  // namespace tessera::runtime
