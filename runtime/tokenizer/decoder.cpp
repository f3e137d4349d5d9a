#include "runtime/tokenizer/decoder.hpp"

#include "runtime/tokenizer/decoder_stages.hpp"
#include "runtime/tokenizer/utf8.hpp"

namespace tessera::runtime {

void DecodeStream::account(std::size_t s, const std::vector<DecodePiece>& out, std::size_t first) {
  for (std::size_t k = first; k < out.size(); ++k) emitted_[s] += out[k].text.size();
  TextBudget(input_bytes_).check(emitted_[s], "decoder");
}

void DecodeStream::run_from(std::size_t stage, std::vector<DecodePiece> pieces, std::string& out) {
  for (std::size_t s = stage; s < stages_.size(); ++s) {
    std::vector<DecodePiece> next;
    for (auto& p : pieces) {
      const std::size_t first = next.size();
      stages_[s]->push(std::move(p), next, TextBudget(input_bytes_).after(emitted_[s]));
      account(s, next, first);
    }
    pieces = std::move(next);
  }
  for (const auto& p : pieces) out.append(p.text);
}

void DecodeStream::push(std::string_view token, std::string& out) {
  // A token counts as one byte at least: the default decoder joins even empty tokens with spaces.
  input_bytes_ += token.size() + 1;
  std::vector<DecodePiece> pieces;
  pieces.push_back(DecodePiece{std::string(token), true, true});
  run_from(0, std::move(pieces), out);
}

void DecodeStream::finish(std::string& out) {
  // Each stage flushes into the stages after it, which may then flush in turn.
  for (std::size_t s = 0; s < stages_.size(); ++s) {
    std::vector<DecodePiece> flushed;
    stages_[s]->finish(flushed);
    account(s, flushed, 0);
    run_from(s + 1, std::move(flushed), out);
  }
}

namespace {

void add_stages(const nlohmann::json& j, const std::string& path, const JsonFields& fields,
                std::vector<std::shared_ptr<const DecodeStageFactory>>& out) {
  fields.object(j, path);
  fields.count_component(path);
  const std::string type = fields.string(j, "type", path);
  if (type == "Sequence") {
    const auto& list = fields.array(j, "decoders", path);
    for (std::size_t i = 0; i < list.size(); ++i) {
      add_stages(list[i], path + ".decoders[" + std::to_string(i) + "]", fields, out);
    }
  } else if (type == "ByteLevel") {
    out.push_back(decode_stages::byte_level());
  } else if (type == "ByteFallback") {
    out.push_back(decode_stages::byte_fallback());
  } else if (type == "Fuse") {
    out.push_back(decode_stages::fuse());
  } else if (type == "Replace") {
    const auto& pattern = fields.object(fields.field(j, "pattern", path), path + ".pattern");
    if (!pattern.contains("String")) {
      fields.fail(path + ".pattern", "only {\"String\": ...} patterns are supported here");
    }
    std::string literal = fields.string(pattern, "String", path + ".pattern");
    if (literal.empty()) fields.fail(path + ".pattern.String", "empty pattern");
    out.push_back(decode_stages::replace(std::move(literal), fields.string(j, "content", path)));
  } else if (type == "Strip") {
    std::string content = fields.string(j, "content", path);
    std::size_t i = 0;
    if (content.empty() || (utf8::next_code_point(content, i), i != content.size())) {
      fields.fail(path + ".content", "expected exactly one character");
    }
    out.push_back(decode_stages::strip(
        std::move(content), static_cast<std::size_t>(fields.integer(j, "start", path, 0, 1 << 20)),
        static_cast<std::size_t>(fields.integer(j, "stop", path, 0, 1 << 20))));
  } else {
    fields.unknown_type(path, type);
  }
}

}  // namespace

Decoder Decoder::from_json(const nlohmann::json& j, const std::string& path,
                           const JsonFields& fields) {
  Decoder d;
  if (j.is_null()) {
    d.factories_.push_back(decode_stages::join_with_spaces());
  } else {
    add_stages(j, path, fields, d.factories_);
  }
  return d;
}

DecodeStream Decoder::start() const {
  std::vector<std::unique_ptr<DecodeStage>> stages;
  stages.reserve(factories_.size());
  for (const auto& f : factories_) stages.push_back(f->make());
  return DecodeStream(std::move(stages));
}

}  // namespace tessera::runtime
