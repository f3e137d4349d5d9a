// vLLM's POST /tokenize and POST /detokenize: the served model's tokenizer (and chat template)
// over HTTP, so that a client can count and inspect tokens exactly as the server will see them.
// Run on a prompt worker: tokenizing a large body takes as long as a prompt does.
#include "net/openai/openai_service.hpp"
#include "net/openai/tokenize_request.hpp"
#include "runtime/core/error.hpp"

namespace tessera::net {
namespace {

// Without tokenizer.json there is nothing to tokenize with: said plainly, naming the field.
[[noreturn]] void refuse_without_tokenizer(const std::string& field) {
  throw bad_field(field, "this model has no tokenizer (its folder has no tokenizer.json), so "
                         "/tokenize and /detokenize are unavailable");
}

}  // namespace

void OpenAiService::tokenize(const HttpRequest& request, Responder& responder) const {
  const TokenizeRequest body = read_tokenize_request(request.body());
  check_model(body.model);
  const std::string field = body.chat ? "messages" : "prompt";
  if (!tokenizer_) refuse_without_tokenizer(field);
  const std::string text =
      body.chat ? render_chat(body.messages, body.add_generation_prompt, body.template_kwargs) : body.prompt;
  std::vector<std::int32_t> tokens;
  try {
    tokens = tokenizer_->encode(text, body.add_special_tokens);
  } catch (const Error& e) {
    throw ApiError(400, e.what(), field);
  }
  respond_json(responder, 200, tokenize_response_json(tokens, context_tokens_));
}

void OpenAiService::detokenize(const HttpRequest& request, Responder& responder) const {
  const DetokenizeRequest body = read_detokenize_request(request.body());
  check_model(body.model);
  if (!tokenizer_) refuse_without_tokenizer("tokens");
  // The ids the engine accepts are those below the model's vocabulary size; the tokenizer may
  // know fewer (padding rows), and those it does not know are refused by it below.
  const auto vocab = engine_.model_config().vocab_size;
  for (std::size_t i = 0; i < body.tokens.size(); ++i) {
    if (body.tokens[i] >= vocab) {
      throw bad_field("tokens", "token id " + std::to_string(body.tokens[i]) + " (item " + std::to_string(i) +
                                    ") is outside the vocabulary (0 to " + std::to_string(vocab - 1) + ")");
    }
  }
  std::string text;
  try {
    // As vLLM decodes: special tokens kept, so that detokenize inverts tokenize.
    text = tokenizer_->decode(body.tokens, /*skip_special_tokens=*/false);
  } catch (const Error& e) {
    throw ApiError(400, std::string("tokens: ") + e.what(), "tokens");
  }
  respond_json(responder, 200, {{"prompt", text}});
}

}  // namespace tessera::net
