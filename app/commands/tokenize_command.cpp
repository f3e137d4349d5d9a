// `tessera tokenize` and `tessera detokenize`: line-oriented filters over a model folder's
// tokenizer, for scripting and for checking tessera's tokenizer against other implementations.
//   tokenize:   one text per stdin line (newline removed)  -> one JSON array of ids per line
//   detokenize: one JSON array of ids per stdin line        -> one JSON string per line
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/commands/registry.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/json_parse.hpp"
#include "runtime/tokenizer/tokenizer.hpp"

namespace tessera::app {
namespace {

using tessera::Error;
using tessera::ErrorCategory;

struct TokenizeOptions {
  std::string model_dir;
  bool add_special_tokens = false;
  bool skip_special_tokens = false;
};

// Keeps the category of the underlying error and prefixes where in the input it happened.
[[noreturn]] void fail_at_line(std::size_t line, const Error& e) {
  throw Error(e.category(), "stdin line " + std::to_string(line) + ": " + e.what());
}

void run_tokenize(const TokenizeOptions& options) {
  const auto tokenizer = runtime::Tokenizer::load(options.model_dir);
  std::string text;
  for (std::size_t line = 1; std::getline(std::cin, text); ++line) {
    std::vector<std::int32_t> ids;
    try {
      ids = tokenizer.encode(text, options.add_special_tokens);
    } catch (const Error& e) {
      fail_at_line(line, e);
    }
    std::cout << nlohmann::json(ids).dump() << '\n' << std::flush;
  }
}

std::vector<std::int32_t> parse_ids(const std::string& text, std::size_t line) {
  const nlohmann::json j = tessera::parse_json(
      text, "stdin line " + std::to_string(line) + " (expected an array of ids)",
      ErrorCategory::invalid_argument);
  if (!j.is_array()) {
    throw Error(ErrorCategory::invalid_argument,
                "stdin line " + std::to_string(line) + ": expected a JSON array of token ids");
  }
  std::vector<std::int32_t> ids;
  ids.reserve(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_number_integer() || j[i].get<long long>() < 0 ||
        j[i].get<long long>() > 0x7FFFFFFF) {
      throw Error(ErrorCategory::invalid_argument,
                  "stdin line " + std::to_string(line) + ": element " + std::to_string(i) +
                      " is not a non-negative 32-bit token id");
    }
    ids.push_back(static_cast<std::int32_t>(j[i].get<long long>()));
  }
  return ids;
}

void run_detokenize(const TokenizeOptions& options) {
  const auto tokenizer = runtime::Tokenizer::load(options.model_dir);
  std::string text;
  for (std::size_t line = 1; std::getline(std::cin, text); ++line) {
    const auto ids = parse_ids(text, line);
    std::string decoded;
    try {
      decoded = tokenizer.decode(ids, options.skip_special_tokens);
    } catch (const Error& e) {
      fail_at_line(line, e);
    }
    std::cout << nlohmann::json(decoded).dump(-1, ' ', false,
                                              nlohmann::json::error_handler_t::replace)
              << '\n'
              << std::flush;
  }
}

void add_tokenize_command(CLI::App& root) {
  auto options = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = root.add_subcommand("tokenize", "Encode stdin lines to JSON arrays of token ids");
  cmd->add_option("--model", options->model_dir, "Model folder with tokenizer.json")->required();
  cmd->add_flag("--add-special-tokens", options->add_special_tokens,
                "Add the special tokens of the tokenizer's post-processor (e.g. BOS)");
  cmd->callback([options] { run_tokenize(*options); });
}

void add_detokenize_command(CLI::App& root) {
  auto options = std::make_shared<TokenizeOptions>();
  CLI::App* cmd =
      root.add_subcommand("detokenize", "Decode stdin lines of JSON id arrays to JSON strings");
  cmd->add_option("--model", options->model_dir, "Model folder with tokenizer.json")->required();
  cmd->add_flag("--skip-special-tokens", options->skip_special_tokens,
                "Leave special tokens out of the text");
  cmd->callback([options] { run_detokenize(*options); });
}

const CommandRegistration tokenize_registration{"tokenize", &add_tokenize_command};
const CommandRegistration detokenize_registration{"detokenize", &add_detokenize_command};

}  // namespace
}  // namespace tessera::app
