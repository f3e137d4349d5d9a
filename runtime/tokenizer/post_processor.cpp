#include "runtime/tokenizer/post_processor.hpp"

#include "runtime/tokenizer/tokenizer_limits.hpp"

namespace tessera::runtime {
namespace {

// ByteLevel only adjusts offsets, which tessera does not expose.
class OffsetsOnly final : public PostProcessor {
 public:
  std::vector<std::int32_t> process(std::vector<std::int32_t> ids) const override { return ids; }
};

// TemplateProcessing's `single` template: a list of special-token id runs and the sequence.
class Template final : public PostProcessor {
 public:
  struct Item {
    bool is_sequence;
    std::vector<std::int32_t> ids;
  };
  explicit Template(std::vector<Item> items) : items_(std::move(items)) {}
  std::vector<std::int32_t> process(std::vector<std::int32_t> ids) const override {
    std::vector<std::int32_t> out;
    out.reserve(ids.size() + 4);
    for (const auto& item : items_) {
      const auto& src = item.is_sequence ? ids : item.ids;
      out.insert(out.end(), src.begin(), src.end());
    }
    return out;
  }

 private:
  std::vector<Item> items_;
};

// RobertaProcessing and BertProcessing: [cls] A [sep].
class Surround final : public PostProcessor {
 public:
  Surround(std::int32_t cls, std::int32_t sep) : cls_(cls), sep_(sep) {}
  std::vector<std::int32_t> process(std::vector<std::int32_t> ids) const override {
    ids.insert(ids.begin(), cls_);
    ids.push_back(sep_);
    return ids;
  }

 private:
  std::int32_t cls_;
  std::int32_t sep_;
};

class Sequence final : public PostProcessor {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PostProcessor>> parts) : parts_(std::move(parts)) {}
  std::vector<std::int32_t> process(std::vector<std::int32_t> ids) const override {
    for (const auto& p : parts_) ids = p->process(std::move(ids));
    return ids;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

std::int32_t to_id(const nlohmann::json& v, const std::string& path, const JsonFields& fields) {
  if (!v.is_number_integer() || v.get<long long>() < 0 ||
      v.get<long long>() > tokenizer_limits::kMaxTokenId) {
    fields.fail(path, "expected a token id from 0 to " +
                          std::to_string(tokenizer_limits::kMaxTokenId) + " (tessera's limit)");
  }
  return static_cast<std::int32_t>(v.get<long long>());
}

// Roberta/Bert store tokens as ["<s>", 0].
std::int32_t token_pair_id(const nlohmann::json& j, const char* key, const std::string& path,
                           const JsonFields& fields) {
  const auto& pair = fields.field(j, key, path);
  const std::string where = path + "." + key;
  if (!pair.is_array() || pair.size() != 2) fields.fail(where, "expected [token, id]");
  return to_id(pair[1], where + "[1]", fields);
}

std::unique_ptr<PostProcessor> parse_template(const nlohmann::json& j, const std::string& path,
                                              const JsonFields& fields) {
  const auto& specials = fields.field(j, "special_tokens", path);
  const auto& single = fields.array(j, "single", path);
  std::vector<Template::Item> items;
  for (std::size_t i = 0; i < single.size(); ++i) {
    const std::string where = path + ".single[" + std::to_string(i) + "]";
    const auto& piece = fields.object(single[i], where);
    if (piece.contains("Sequence")) {
      const auto& seq = fields.object(piece["Sequence"], where + ".Sequence");
      const std::string which = fields.string(seq, "id", where + ".Sequence");
      if (which != "A") fields.fail(where + ".Sequence.id", "a single template may only use A");
      // Each repeat copies the whole input, and Sequences of such templates would multiply it.
      for (const auto& item : items) {
        if (item.is_sequence) {
          fields.fail(where, "a single template may use the sequence A only once");
        }
      }
      items.push_back({true, {}});
    } else if (piece.contains("SpecialToken")) {
      const auto& tok = fields.object(piece["SpecialToken"], where + ".SpecialToken");
      const std::string name = fields.string(tok, "id", where + ".SpecialToken");
      if (!specials.is_object() || !specials.contains(name)) {
        fields.fail(where + ".SpecialToken.id", "\"" + name + "\" is not in special_tokens");
      }
      const std::string spath = path + ".special_tokens[\"" + name + "\"]";
      const auto& ids = fields.array(specials[name], "ids", spath);
      Template::Item item{false, {}};
      for (std::size_t k = 0; k < ids.size(); ++k) {
        item.ids.push_back(to_id(ids[k], spath + ".ids[" + std::to_string(k) + "]", fields));
      }
      items.push_back(std::move(item));
    } else {
      fields.fail(where, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
  }
  return std::make_unique<Template>(std::move(items));
}

}  // namespace

std::unique_ptr<PostProcessor> PostProcessor::from_json(const nlohmann::json& j,
                                                        const std::string& path,
                                                        const JsonFields& fields) {
  if (j.is_null()) return nullptr;
  fields.object(j, path);
  fields.count_component(path);
  const std::string type = fields.string(j, "type", path);
  if (type == "ByteLevel") return std::make_unique<OffsetsOnly>();
  if (type == "TemplateProcessing") return parse_template(j, path, fields);
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    return std::make_unique<Surround>(token_pair_id(j, "cls", path, fields),
                                      token_pair_id(j, "sep", path, fields));
  }
  if (type == "Sequence") {
    const auto& list = fields.array(j, "processors", path);
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto part = from_json(list[i], path + ".processors[" + std::to_string(i) + "]", fields);
      if (part) parts.push_back(std::move(part));
    }
    return std::make_unique<Sequence>(std::move(parts));
  }
  fields.unknown_type(path, type);
}

}  // namespace tessera::runtime
