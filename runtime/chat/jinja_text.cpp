#include "runtime/chat/jinja_text.hpp"

#include <utf8proc.h>

#include <algorithm>

namespace tessera::runtime::jinja {

std::size_t utf8_next(std::string_view s, std::size_t i, char32_t& cp) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    cp = 0xFFFD;
    return i + 1;
  }
  char32_t v = len == 1 ? c : c & (0x7F >> len);
  for (std::size_t k = 1; k < len; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc >> 6) != 2) {
      cp = 0xFFFD;
      return i + 1;
    }
    v = (v << 6) | (cc & 0x3F);
  }
  cp = v;
  return i + len;
}

std::u32string utf8_decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    i = utf8_next(s, i, cp);
    out.push_back(cp);
  }
  return out;
}

std::string utf8_encode(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

bool py_isspace(char32_t c) {
  return (c >= 9 && c <= 13) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool py_isalnum(char32_t c) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return true;
    default: return false;
  }
}

std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right) {
  std::u32string u = utf8_decode(s);
  std::u32string set = chars ? utf8_decode(*chars) : std::u32string{};
  auto strip_it = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : py_isspace(c); };
  std::size_t b = 0, e = u.size();
  if (left)
    while (b < e && strip_it(u[b])) ++b;
  if (right)
    while (e > b && strip_it(u[e - 1])) --e;
  return utf8_encode(std::u32string_view(u).substr(b, e - b));
}

std::vector<std::string> py_split(std::string_view s, const std::string* sep, std::int64_t maxsplit,
                                  std::size_t max_parts) {
  std::vector<std::string> out;
  if (sep) {
    std::size_t pos = 0;
    while ((maxsplit < 0 || static_cast<std::int64_t>(out.size()) < maxsplit) && out.size() <= max_parts) {
      std::size_t hit = s.find(*sep, pos);
      if (hit == std::string_view::npos) break;
      out.emplace_back(s.substr(pos, hit - pos));
      pos = hit + sep->size();
    }
    out.emplace_back(s.substr(pos));
    return out;
  }
  // No separator: runs of whitespace split and leading/trailing whitespace is dropped.
  std::u32string u = utf8_decode(s);
  std::size_t i = 0;
  while (out.size() <= max_parts) {
    while (i < u.size() && py_isspace(u[i])) ++i;
    if (i == u.size()) break;
    if (maxsplit >= 0 && static_cast<std::int64_t>(out.size()) == maxsplit) {
      std::size_t e = u.size();
      while (e > i && py_isspace(u[e - 1])) --e;
      out.push_back(utf8_encode(std::u32string_view(u).substr(i, e - i)));
      break;
    }
    std::size_t j = i;
    while (j < u.size() && !py_isspace(u[j])) ++j;
    out.push_back(utf8_encode(std::u32string_view(u).substr(i, j - i)));
    i = j;
  }
  return out;
}

std::vector<std::string> py_rsplit(std::string_view s, const std::string* sep, std::int64_t maxsplit,
                                   std::size_t max_parts) {
  // Python's rsplit: splits from the right, so the unsplit remainder is the leftmost part.
  std::vector<std::string> out;
  auto done = [&] { return (maxsplit >= 0 && static_cast<std::int64_t>(out.size()) >= maxsplit) || out.size() > max_parts; };
  if (sep) {
    std::size_t end = s.size();
    while (!done()) {
      if (end < sep->size()) break;
      std::size_t hit = s.rfind(*sep, end - sep->size());
      if (hit == std::string_view::npos) break;
      out.emplace_back(s.substr(hit + sep->size(), end - hit - sep->size()));
      end = hit;
    }
    out.emplace_back(s.substr(0, end));
  } else {
    std::u32string u = utf8_decode(s);
    std::size_t e = u.size();
    while (true) {
      while (e > 0 && py_isspace(u[e - 1])) --e;
      if (e == 0) break;
      if (done()) {
        std::size_t b = 0;
        while (b < e && py_isspace(u[b])) ++b;
        out.push_back(utf8_encode(std::u32string_view(u).substr(b, e - b)));
        break;
      }
      std::size_t j = e;
      while (j > 0 && !py_isspace(u[j - 1])) --j;
      out.push_back(utf8_encode(std::u32string_view(u).substr(j, e - j)));
      e = j;
    }
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> py_splitlines(std::string_view s, std::size_t max_parts) {
  std::u32string u = utf8_decode(s);
  std::vector<std::string> out;
  std::size_t start = 0, i = 0;
  auto is_break = [](char32_t c) {
    return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E || c == 0x85 ||
           c == 0x2028 || c == 0x2029;
  };
  while (i < u.size() && out.size() <= max_parts) {
    if (is_break(u[i])) {
      out.push_back(utf8_encode(std::u32string_view(u).substr(start, i - start)));
      if (u[i] == '\r' && i + 1 < u.size() && u[i + 1] == '\n') ++i;
      start = ++i;
    } else {
      ++i;
    }
  }
  if (start < u.size()) out.push_back(utf8_encode(std::u32string_view(u).substr(start)));
  return out;
}

bool py_replace(std::string_view s, std::string_view old, std::string_view with, std::int64_t count,
                std::size_t max_bytes, std::string& out) {
  out.clear();
  // Each replacement is checked before it is appended: one short match replaced by a long
  // string, a million times over, would otherwise be built whole before any check.
  auto put = [&](std::string_view part) {
    if (part.size() > max_bytes - std::min(out.size(), max_bytes)) return false;
    out.append(part);
    return true;
  };
  if (old.empty()) {
    // Python inserts the replacement before every character and at the end.
    std::int64_t done = 0;
    for (std::size_t i = 0; i < s.size();) {
      if (count < 0 || done < count) {
        if (!put(with)) return false;
        ++done;
      }
      char32_t c = 0;
      std::size_t next = utf8_next(s, i, c);
      if (!put(utf8_encode(std::u32string_view(&c, 1)))) return false;
      i = next;
    }
    return count >= 0 && done >= count ? true : put(with);
  }
  std::size_t pos = 0;
  std::int64_t done = 0;
  while (count < 0 || done < count) {
    std::size_t hit = s.find(old, pos);
    if (hit == std::string_view::npos) break;
    if (!put(s.substr(pos, hit - pos)) || !put(with)) return false;
    pos = hit + old.size();
    ++done;
  }
  return put(s.substr(pos));
}

static char32_t upper_cp(char32_t c) {
  return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c)));
}
static char32_t lower_cp(char32_t c) {
  return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
}
static char32_t title_cp(char32_t c) {
  return static_cast<char32_t>(utf8proc_totitle(static_cast<utf8proc_int32_t>(c)));
}
static bool is_cased_letter(char32_t c) { return lower_cp(c) != c || upper_cp(c) != c || title_cp(c) != c; }

std::string py_upper(std::string_view s) {
  std::u32string u = utf8_decode(s);
  for (auto& c : u) c = upper_cp(c);
  return utf8_encode(u);
}

std::string py_lower(std::string_view s) {
  std::u32string u = utf8_decode(s);
  for (auto& c : u) c = lower_cp(c);
  return utf8_encode(u);
}

std::string py_capitalize(std::string_view s) {
  std::u32string u = utf8_decode(s);
  for (std::size_t i = 0; i < u.size(); ++i) u[i] = i == 0 ? title_cp(u[i]) : lower_cp(u[i]);
  return utf8_encode(u);
}

std::string py_title(std::string_view s) {
  std::u32string u = utf8_decode(s);
  bool previous_cased = false;
  for (auto& c : u) {
    bool cased = is_cased_letter(c);
    c = cased ? (previous_cased ? lower_cp(c) : title_cp(c)) : c;
    previous_cased = cased;
  }
  return utf8_encode(u);
}

std::string jinja_title(std::string_view s) {
  std::u32string u = utf8_decode(s);
  bool word_start = true;
  for (auto& c : u) {
    bool separator = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || py_isspace(c);
    if (separator) {
      word_start = true;
      continue;
    }
    c = word_start ? upper_cp(c) : lower_cp(c);
    word_start = false;
  }
  return utf8_encode(u);
}

std::int64_t py_find(std::string_view s, std::string_view sub, bool reverse) {
  std::size_t hit = reverse ? s.rfind(sub) : s.find(sub);
  if (hit == std::string_view::npos) return -1;
  return static_cast<std::int64_t>(utf8_length(s.substr(0, hit)));
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace tessera::runtime::jinja
