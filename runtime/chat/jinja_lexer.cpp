#include "runtime/chat/jinja_lexer.hpp"

#include <algorithm>
#include <cctype>

#include "runtime/chat/jinja_text.hpp"
#include "runtime/core/error.hpp"

namespace tessera::runtime::jinja {

namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_inline_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < src.size(); ++i)
      if (src[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    std::size_t pos = 0;
    // What the previous tag asked of the text that follows it.
    bool strip_next = false, trim_newline = false, line_starting = true;
    while (true) {
      std::size_t open = find_opener(pos);
      std::size_t text_end = open == std::string_view::npos ? src_.size() : open;
      std::size_t text_begin = pos;
      if (strip_next) {
        while (text_begin < text_end && is_ws(src_[text_begin])) ++text_begin;
      } else if (trim_newline) {
        if (src_.substr(text_begin, 1) == "\n") {
          text_begin += 1;
          line_starting = true;
        } else if (src_.substr(text_begin, 2) == "\r\n") {
          text_begin += 2;
          line_starting = true;
        }
      }
      std::string_view text = src_.substr(text_begin, text_end - text_begin);
      if (open != std::string_view::npos) {
        char kind = src_[open + 1];
        char modifier = open + 2 < src_.size() ? src_[open + 2] : '\0';
        if (modifier == '-') {
          while (!text.empty() && is_ws(text.back())) text.remove_suffix(1);
        } else if (modifier != '+' && kind != '{') {
          // lstrip_blocks: drop indentation before a block or comment tag alone at a line start.
          std::size_t line_begin = text.rfind('\n');
          line_begin = line_begin == std::string_view::npos ? 0 : line_begin + 1;
          if ((line_begin > 0 || line_starting) &&
              std::all_of(text.begin() + static_cast<std::ptrdiff_t>(line_begin), text.end(), is_inline_ws))
            text = text.substr(0, line_begin);
        }
      }
      if (!text.empty()) push(TokenType::text, std::string(text), text_begin);
      if (open == std::string_view::npos) break;
      char kind = src_[open + 1];
      std::size_t body = open + 2;
      if (body < src_.size() && (src_[body] == '-' || src_[body] == '+')) ++body;
      char close_modifier = '\0';
      if (kind == '#') {
        std::size_t close = src_.find("#}", body);
        if (close == std::string_view::npos) fail("unclosed comment", open);
        if (close > body && (src_[close - 1] == '-' || src_[close - 1] == '+')) close_modifier = src_[close - 1];
        pos = close + 2;
      } else if (kind == '%' && try_raw(open, body, pos, close_modifier)) {
        // handled: pos and close_modifier are set
      } else {
        push(kind == '{' ? TokenType::var_begin : TokenType::block_begin, "", open);
        pos = lex_tag(body, kind == '{', close_modifier, open);
      }
      strip_next = close_modifier == '-';
      trim_newline = kind != '{' && close_modifier == '\0';
      line_starting = false;
    }
    push(TokenType::eof, "", src_.size());
    return std::move(tokens_);
  }

 private:
  std::string_view src_;
  std::vector<std::size_t> line_starts_;
  std::vector<Token> tokens_;

  std::pair<int, int> position(std::size_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    auto line = static_cast<int>(it - line_starts_.begin());
    return {line, static_cast<int>(offset - line_starts_[static_cast<std::size_t>(line - 1)]) + 1};
  }

  [[noreturn]] void fail(const std::string& what, std::size_t offset) const {
    auto [line, column] = position(offset);
    throw Error(ErrorCategory::chat_template, "chat template syntax error at line " + std::to_string(line) +
                                                  ", column " + std::to_string(column) + ": " + what);
  }

  void push(TokenType type, std::string value, std::size_t offset) {
    auto [line, column] = position(offset);
    tokens_.push_back(Token{type, std::move(value), line, column});
  }

  std::size_t find_opener(std::size_t from) const {
    while (true) {
      std::size_t hit = src_.find('{', from);
      if (hit == std::string_view::npos || hit + 1 >= src_.size()) return std::string_view::npos;
      char next = src_[hit + 1];
      if (next == '{' || next == '%' || next == '#') return hit;
      from = hit + 1;
    }
  }

  static std::size_t skip_ws(std::string_view s, std::size_t i) {
    while (i < s.size() && is_ws(s[i])) ++i;
    return i;
  }

  // `{% raw %}...{% endraw %}` emits its body verbatim. Returns false if the tag is not `raw`.
  bool try_raw(std::size_t open, std::size_t body, std::size_t& pos, char& close_modifier) {
    std::size_t i = skip_ws(src_, body);
    if (src_.substr(i, 3) != "raw") return false;
    i = skip_ws(src_, i + 3);
    bool strip_body_start = false;
    if (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) strip_body_start = src_[i++] == '-';
    if (src_.substr(i, 2) != "%}") return false;
    std::size_t content = i + 2;
    if (strip_body_start) content = skip_ws(src_, content);
    std::size_t search = content;
    while (true) {
      std::size_t tag = src_.find("{%", search);
      if (tag == std::string_view::npos) fail("missing endraw for raw block", open);
      std::size_t j = tag + 2;
      bool strip_body_end = false;
      if (j < src_.size() && (src_[j] == '-' || src_[j] == '+')) strip_body_end = src_[j++] == '-';
      j = skip_ws(src_, j);
      if (src_.substr(j, 6) != "endraw") {
        search = tag + 2;
        continue;
      }
      j = skip_ws(src_, j + 6);
      close_modifier = '\0';
      if (j < src_.size() && (src_[j] == '-' || src_[j] == '+')) close_modifier = src_[j++];
      if (src_.substr(j, 2) != "%}") fail("malformed endraw tag", tag);
      std::string_view text = src_.substr(content, tag - content);
      if (strip_body_end)
        while (!text.empty() && is_ws(text.back())) text.remove_suffix(1);
      if (!text.empty()) push(TokenType::text, std::string(text), content);
      pos = j + 2;
      return true;
    }
  }

  // Lexes expression tokens up to the tag's closing delimiter; returns the offset after it.
  std::size_t lex_tag(std::size_t i, bool variable, char& close_modifier, std::size_t open) {
    int braces = 0;
    while (true) {
      i = skip_ws(src_, i);
      if (i >= src_.size()) fail(variable ? "unclosed '{{' tag" : "unclosed '{%' tag", open);
      char c = src_[i];
      std::string_view rest = src_.substr(i);
      std::string_view end = variable ? "}}" : "%}";
      for (char m : {'\0', '-', '+'}) {
        bool matches =
            m == '\0' ? rest.substr(0, 2) == end : (rest.size() >= 3 && rest[0] == m && rest.substr(1, 2) == end);
        if (matches && (braces == 0 || !variable)) {
          close_modifier = m;
          push(variable ? TokenType::var_end : TokenType::block_end, "", i);
          return i + (m == '\0' ? 2 : 3);
        }
      }
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        std::size_t j = i;
        while (j < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[j])) || src_[j] == '_')) ++j;
        push(TokenType::name, std::string(src_.substr(i, j - i)), i);
        i = j;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        i = lex_number(i);
      } else if (c == '\'' || c == '"') {
        i = lex_string(i);
      } else {
        static const char* const ops[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<",
                                          ">",  "=",  "(",  ")",  "[",  "]",  "{", "}", ",", ".", ":", "|"};
        bool found = false;
        for (const char* op : ops) {
          std::string_view o(op);
          if (rest.substr(0, o.size()) == o) {
            if (o == "{") ++braces;
            if (o == "}") --braces;
            push(TokenType::op, std::string(o), i);
            i += o.size();
            found = true;
            break;
          }
        }
        if (!found) fail(std::string("unexpected character '") + c + "'", i);
      }
    }
  }

  std::size_t lex_number(std::size_t i) {
    std::size_t start = i;
    auto digits = [&] {
      while (i < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[i])) || src_[i] == '_')) ++i;
    };
    digits();
    bool is_float = false;
    if (i + 1 < src_.size() && src_[i] == '.' && std::isdigit(static_cast<unsigned char>(src_[i + 1]))) {
      is_float = true;
      ++i;
      digits();
    }
    if (i < src_.size() && (src_[i] == 'e' || src_[i] == 'E')) {
      std::size_t j = i + 1;
      if (j < src_.size() && (src_[j] == '+' || src_[j] == '-')) ++j;
      if (j < src_.size() && std::isdigit(static_cast<unsigned char>(src_[j]))) {
        is_float = true;
        i = j;
        digits();
      }
    }
    std::string text;
    for (char ch : src_.substr(start, i - start))
      if (ch != '_') text.push_back(ch);
    push(is_float ? TokenType::floating : TokenType::integer, text, start);
    return i;
  }

  std::size_t lex_string(std::size_t i) {
    char quote = src_[i];
    std::size_t start = i++;
    std::u32string out;
    auto hex = [&](std::size_t n) -> char32_t {
      if (i + n > src_.size()) fail("truncated escape in string", i);
      char32_t v = 0;
      for (std::size_t k = 0; k < n; ++k) {
        char h = src_[i + k];
        if (!std::isxdigit(static_cast<unsigned char>(h))) fail("bad escape in string", i);
        v = v * 16 +
            static_cast<char32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
      }
      i += n;
      return v;
    };
    std::size_t chunk = i;
    auto flush = [&](std::size_t upto) {
      std::u32string part = utf8_decode(src_.substr(chunk, upto - chunk));
      out += part;
    };
    while (true) {
      if (i >= src_.size()) fail("unterminated string", start);
      char c = src_[i];
      if (c == quote) {
        flush(i);
        ++i;
        break;
      }
      if (c != '\\') {
        ++i;
        continue;
      }
      flush(i);
      if (i + 1 >= src_.size()) fail("unterminated string", start);
      char e = src_[i + 1];
      i += 2;
      switch (e) {
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case '0': out.push_back('\0'); break;
        case 'a': out.push_back('\a'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'v': out.push_back('\v'); break;
        case '\\': out.push_back('\\'); break;
        case '\'': out.push_back('\''); break;
        case '"': out.push_back('"'); break;
        case '\n': break;  // a backslash-newline continues the line
        case 'x': out.push_back(hex(2)); break;
        case 'u': out.push_back(hex(4)); break;
        case 'U': {
          char32_t cp = hex(8);
          if (cp > 0x10FFFF) fail("illegal Unicode character in string", i - 10);
          out.push_back(cp);
          break;
        }
        default:
          // Python keeps unknown escapes as written.
          out.push_back('\\');
          i -= 1;
      }
      chunk = i;
    }
    push(TokenType::string, utf8_encode(out), start);
    return i;
  }
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(source).run(); }

}  // namespace tessera::runtime::jinja
