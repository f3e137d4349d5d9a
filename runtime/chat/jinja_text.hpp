#pragma once
// UTF-8 string helpers with Python str semantics: templates index, slice, strip and case-map by
// code point, and Python's notion of whitespace is wider than ASCII.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::runtime::jinja {

std::u32string utf8_decode(std::string_view s);  // invalid bytes decode as U+FFFD
// Decodes the code point starting at byte i (< s.size()) into cp, as utf8_decode does, and
// returns the offset of the next one.
std::size_t utf8_next(std::string_view s, std::size_t i, char32_t& cp);
std::string utf8_encode(std::u32string_view s);
std::size_t utf8_length(std::string_view s);
bool py_isspace(char32_t c);
bool py_isalnum(char32_t c);  // letters and numbers of any script, as str.isalnum()
std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right);
// str.split and str.rsplit (sep null: runs of whitespace). They stop after max_parts + 1 parts,
// so a caller holding a limit can refuse the result without it being built whole.
std::vector<std::string> py_split(std::string_view s, const std::string* sep, std::int64_t maxsplit,
                                  std::size_t max_parts = SIZE_MAX - 1);
std::vector<std::string> py_rsplit(std::string_view s, const std::string* sep, std::int64_t maxsplit,
                                   std::size_t max_parts = SIZE_MAX - 1);
std::vector<std::string> py_splitlines(std::string_view s, std::size_t max_parts = SIZE_MAX - 1);
// str.replace into `out`; false (out partial) when the result would pass max_bytes.
bool py_replace(std::string_view s, std::string_view old, std::string_view with, std::int64_t count,
                std::size_t max_bytes, std::string& out);
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_capitalize(std::string_view s);
std::string py_title(std::string_view s);     // str.title()
std::string jinja_title(std::string_view s);  // the |title filter: words split at -, space, ( { [ <
std::int64_t py_find(std::string_view s, std::string_view sub, bool reverse);  // code point index or -1
std::string html_escape(std::string_view s);

}  // namespace tessera::runtime::jinja
