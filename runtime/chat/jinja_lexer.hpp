#pragma once
// Splits template source into text and tag tokens, applying jinja2's whitespace rules as HF
// configures them (trim_blocks and lstrip_blocks on, plus the `-`/`+` modifiers on tags).
#include <string>
#include <string_view>
#include <vector>

namespace tessera::runtime::jinja {

enum class TokenType {
  text,         // literal output
  var_begin,    // {{
  var_end,      // }}
  block_begin,  // {%
  block_end,    // %}
  name,
  string,
  integer,
  floating,
  op,  // operators and punctuation: + - * / // % ** ~ == != < <= > >= = ( ) [ ] { } , . : |
  eof,
};

struct Token {
  TokenType type;
  std::string value;
  int line;
  int column;
};

// Throws Error(chat_template) naming line and column on malformed input.
std::vector<Token> tokenize(std::string_view source);

}  // namespace tessera::runtime::jinja
