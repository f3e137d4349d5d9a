#pragma once
// Request parameters that would change what the answer must be, and that tessera does not
// implement yet: tools, structured output, logit biases, vLLM's guided decoding and token
// constraints, and the like. Ignoring one hands the client prose where it asked for JSON or a
// tool call, with a 200; so each gets a 400 naming it, unless it holds its neutral value
// (null, an empty list, "none", ...), which asks for nothing and passes.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace tessera::net {

// Throws ApiError (400, param set to the parameter) for the first refused parameter in `body`.
void refuse_unsupported_parameters(const nlohmann::ordered_json& body);

// The field of the first message that belongs to tool use: "messages[i].tool_calls" for an
// assistant turn carrying tool calls, "messages[i].role" for a tool result. nullopt when there
// is none. A chat template that never reads tool_calls would drop them without a word.
std::optional<std::string> tool_use_in_history(const nlohmann::ordered_json& messages);

}  // namespace tessera::net
