#include "runtime/tokenizer/tokenizer.hpp"

#include <nlohmann/json.hpp>

#include "runtime/core/error.hpp"
#include "runtime/core/json_parse.hpp"
#include "runtime/tokenizer/added_tokens.hpp"
#include "runtime/tokenizer/bpe_model.hpp"
#include "runtime/tokenizer/json_fields.hpp"
#include "runtime/tokenizer/normalizer.hpp"
#include "runtime/tokenizer/post_processor.hpp"
#include "runtime/tokenizer/pre_tokenizer.hpp"
#include "runtime/tokenizer/text_budget.hpp"
#include "runtime/tokenizer/tokenizer_config.hpp"
#include "runtime/tokenizer/tokenizer_file.hpp"
#include "runtime/tokenizer/tokenizer_limits.hpp"
#include "runtime/tokenizer/utf8.hpp"

namespace tessera::runtime {

struct Tokenizer::Impl {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::optional<BpeModel> model;
  AddedTokens added;
  std::unique_ptr<PostProcessor> post_processor;
  std::optional<Decoder> decoder;
  TokenizerConfig config;
  std::int64_t vocab_size = 0;

  // The growth bound of one encode, shared by all its stretches of plain text: the bytes
  // normalizing and pre-tokenizing make are counted across stretches, so splitting the input at
  // added tokens does not multiply the allowance.
  struct Budget {
    TextBudget total;
    std::size_t normalized = 0;
    std::size_t pre_tokenized = 0;
  };

  // Normalizes, pre-tokenizes and tokenizes one stretch of text without added tokens in it.
  void encode_plain(std::string_view text, Budget& budget, std::vector<std::int32_t>& ids) const {
    std::string normalized =
        normalizer ? normalizer->normalize(text, budget.total.after(budget.normalized))
                   : std::string(text);
    budget.normalized += normalized.size();
    std::vector<TextSegment> segments;
    if (added.has_normalized()) {
      added.split_normalized(normalized, segments);
    } else if (!normalized.empty()) {
      segments.push_back({normalized, -1});
    }
    std::vector<std::string> words;
    for (const auto& seg : segments) {
      if (seg.id >= 0) {
        ids.push_back(seg.id);
        continue;
      }
      words.clear();
      words.emplace_back(seg.text);
      if (pre_tokenizer) pre_tokenizer->split(words, budget.total.after(budget.pre_tokenized));
      for (const auto& w : words) {
        budget.pre_tokenized += w.size();
        model->tokenize(w, ids);
      }
    }
  }
};

namespace {

const nlohmann::json& section(const nlohmann::json& root, const char* key) {
  static const nlohmann::json null_value;
  auto it = root.find(key);
  return it == root.end() ? null_value : *it;
}

}  // namespace

std::shared_ptr<Tokenizer::Impl> Tokenizer::parse(std::string_view json_text,
                                                  const std::string& name) {
  const JsonFields fields(name);
  // Bounded nesting also bounds the recursion of the component builders over Sequences.
  const nlohmann::json root = parse_json(json_text, name, ErrorCategory::tokenizer);
  fields.object(root, "(root)");

  auto impl = std::make_shared<Impl>();
  const auto& model = fields.field(root, "model", "");
  fields.object(model, "model");
  std::string type = fields.optional_string(model, "type", "model");
  if (type.empty() && model.contains("merges")) type = "BPE";  // very old files omit the type
  if (type != "BPE") fields.unknown_type("model", type);
  impl->model.emplace(BpeModel::from_json(model, "model", fields));

  impl->normalizer = Normalizer::from_json(section(root, "normalizer"), "normalizer", fields);
  impl->pre_tokenizer =
      PreTokenizer::from_json(section(root, "pre_tokenizer"), "pre_tokenizer", fields);
  impl->added = AddedTokens::from_json(section(root, "added_tokens"), "added_tokens", fields,
                                       impl->normalizer.get());
  impl->post_processor =
      PostProcessor::from_json(section(root, "post_processor"), "post_processor", fields);
  impl->decoder.emplace(Decoder::from_json(section(root, "decoder"), "decoder", fields));

  // HF counts the union of model and added vocabularies by token string.
  impl->vocab_size = static_cast<std::int64_t>(impl->model->vocab().size());
  for (const auto& t : impl->added.all()) {
    if (!impl->model->token_to_id(t.content)) ++impl->vocab_size;
  }
  return impl;
}

Tokenizer Tokenizer::from_json_text(std::string_view json_text, const std::string& name) {
  return Tokenizer(parse(json_text, name));
}

Tokenizer Tokenizer::load(const std::filesystem::path& model_dir) {
  const auto file = model_dir / "tokenizer.json";
  const std::string text =
      read_tokenizer_file(file, tokenizer_limits::kMaxTokenizerFileBytes, ErrorCategory::tokenizer);
  auto impl = parse(text, file.string());
  impl->config = TokenizerConfig::load(model_dir / "tokenizer_config.json");
  return Tokenizer(std::move(impl));
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  if (auto bad = utf8::first_invalid(text)) {
    throw Error(ErrorCategory::tokenizer,
                "cannot encode text: invalid UTF-8 at byte offset " + std::to_string(*bad));
  }
  std::vector<std::int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  std::vector<TextSegment> segments;
  impl_->added.split_raw(text, segments);
  Impl::Budget budget{TextBudget(text.size())};
  for (const auto& seg : segments) {
    if (seg.id >= 0) {
      ids.push_back(seg.id);
    } else {
      impl_->encode_plain(seg.text, budget, ids);
    }
  }
  if (add_special_tokens && impl_->post_processor) {
    ids = impl_->post_processor->process(std::move(ids));
  }
  return ids;
}

const std::string* Tokenizer::decode_piece(std::int32_t id, bool skip_special_tokens) const {
  if (const AddedToken* t = impl_->added.by_id(id)) {
    if (skip_special_tokens && t->special) return nullptr;
    return &t->content;
  }
  const std::string* token = impl_->model->id_to_token(id);
  if (!token) {
    throw Error(ErrorCategory::tokenizer, "cannot decode: unknown token id " + std::to_string(id) +
                                              " (vocabulary size " +
                                              std::to_string(impl_->vocab_size) + ")");
  }
  // HF skips by token string, so a model token spelled like a special token is skipped too.
  if (skip_special_tokens && impl_->added.is_special_content(*token)) return nullptr;
  return token;
}

DecodeStream Tokenizer::start_decode() const { return impl_->decoder->start(); }

std::string Tokenizer::decode(std::span<const std::int32_t> ids, bool skip_special_tokens) const {
  DecodeStream stream = start_decode();
  std::string out;
  for (const auto id : ids) {
    if (const std::string* piece = decode_piece(id, skip_special_tokens)) stream.push(*piece, out);
  }
  stream.finish(out);
  return out;
}

std::optional<std::int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (auto id = impl_->added.id_of(token)) return id;
  return impl_->model->token_to_id(token);
}

std::int64_t Tokenizer::vocab_size() const { return impl_->vocab_size; }

bool Tokenizer::is_special(std::int32_t id) const {
  const AddedToken* t = impl_->added.by_id(id);
  return t && t->special;
}

const std::string& Tokenizer::bos_token() const { return impl_->config.bos_token; }
const std::string& Tokenizer::eos_token() const { return impl_->config.eos_token; }
const std::string& Tokenizer::chat_template() const { return impl_->config.chat_template; }

}  // namespace tessera::runtime
