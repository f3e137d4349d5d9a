// The body of POST /v1/chat/completions and /v1/completions, down the server's path: parsed
// (bounded depth), checked field by field, the chat messages rendered by the bundled model's
// template and a feature-rich one, and the prompt tokenized. Everything an unauthenticated client
// controls before generation starts.
//
// Input: the request body; the first byte's parity picks the endpoint (the body stays valid JSON
// either way when it starts with whitespace or '{').
#include <cstdint>
#include <string>
#include <string_view>

#include "net/openai/api_error.hpp"
#include "net/openai/api_request.hpp"
#include "runtime/chat/chat_template.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/json_parse.hpp"
#include "runtime/tokenizer/tokenizer.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using tessera::net::Endpoint;
using tessera::runtime::ChatTemplate;
using tessera::runtime::Tokenizer;
using Json = nlohmann::ordered_json;

const Tokenizer& tokenizer() {
  static const Tokenizer t = Tokenizer::load(tessera::fuzz::model_dir());
  return t;
}

// The bundled model's own template, and one that reads every message field (tool calls, content
// parts) through loops, filters and tojson.
const ChatTemplate& chat_template(bool feature_tour) {
  static const ChatTemplate bundled = ChatTemplate::from_model_dir(tessera::fuzz::model_dir());
  static const ChatTemplate tour(
      tessera::fuzz::read_file(tessera::fuzz::source_dir() / "tests/data/chat/templates/feature_tour.jinja"),
      "<s>", "</s>");
  return feature_tour ? tour : bundled;
}

void serve(std::string_view body, Endpoint endpoint, bool feature_tour) {
  const Json json = tessera::parse_ordered_json(body, "the request body", tessera::ErrorCategory::invalid_argument);
  const auto request = tessera::net::parse_api_request(json, endpoint);
  if (endpoint == Endpoint::completion) {
    if (!request.prompt_is_ids) (void)tokenizer().encode(request.prompt_text, true);
    return;
  }
  const std::string text = chat_template(feature_tour).render(request.messages, true, Json::object());
  (void)tokenizer().encode(text, false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Endpoint endpoint = data[0] % 2 == 0 ? Endpoint::chat : Endpoint::completion;
  const bool feature_tour = data[0] % 4 >= 2;
  try {
    serve(tessera::fuzz::as_text(data, size), endpoint, feature_tour);
  } catch (const tessera::net::ApiError&) {
    // A 4xx for the client.
  } catch (const tessera::Error&) {
    // Refused by the parser, the template or the tokenizer: also a 4xx.
  }
  return 0;
}
