#pragma once
// UTF-8 string helpers with Python str semantics: templates index, slice, strip and case-map by
// code point, and Python's notion of whitespace is wider than ASCII.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::runtime::jinja {

std::u32string utf8_decode(std::string_view s);  // invalid bytes decode as U+FFFD
std::string utf8_encode(std::u32string_view s);
std::size_t utf8_length(std::string_view s);
bool py_isspace(char32_t c);
bool py_isalnum(char32_t c);  // letters and numbers of any script, as str.isalnum()
std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right);
std::vector<std::string> py_split(std::string_view s, const std::string* sep, std::int64_t maxsplit);
std::vector<std::string> py_splitlines(std::string_view s);
std::string py_replace(std::string_view s, std::string_view old, std::string_view with, std::int64_t count);
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_capitalize(std::string_view s);
std::string py_title(std::string_view s);     // str.title()
std::string jinja_title(std::string_view s);  // the |title filter: words split at -, space, ( { [ <
std::int64_t py_find(std::string_view s, std::string_view sub, bool reverse);  // code point index or -1
std::string html_escape(std::string_view s);

}  // namespace tessera::runtime::jinja
