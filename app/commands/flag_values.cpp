#include "app/commands/flag_values.hpp"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <utility>

#include "runtime/core/error.hpp"

namespace tessera::app {
namespace {

Error refuse(std::string_view flag, const std::string& accepts, const std::string& text) {
  return Error(ErrorCategory::invalid_argument,
               std::string(flag) + " must be " + accepts + " (got '" + text + "')");
}

// The whole of `text` as a number; nothing when anything else is in it.
template <typename Number>
std::optional<Number> whole_text_as(std::string_view text) {
  Number value{};
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc{} || stop != end) return std::nullopt;
  return value;
}

constexpr std::array<std::pair<std::string_view, std::int64_t>, 4> kByteUnits{{
    {"TiB", std::int64_t{1} << 40},
    {"GiB", std::int64_t{1} << 30},
    {"MiB", std::int64_t{1} << 20},
    {"KiB", std::int64_t{1} << 10},
}};

constexpr std::int64_t kMostBytes = std::int64_t{1} << 40;

}  // namespace

std::int64_t parse_whole_number(std::string_view flag, const std::string& text, std::int64_t min,
                                std::int64_t max) {
  const auto value = whole_text_as<std::int64_t>(text);
  if (!value || *value < min || *value > max) {
    throw refuse(flag, "a whole number from " + std::to_string(min) + " to " + std::to_string(max),
                 text);
  }
  return *value;
}

std::int64_t parse_power_of_two(std::string_view flag, const std::string& text, std::int64_t min,
                                std::int64_t max) {
  const auto value = whole_text_as<std::int64_t>(text);
  if (!value || *value < min || *value > max ||
      !std::has_single_bit(static_cast<std::uint64_t>(*value))) {
    throw refuse(flag, "a power of two from " + std::to_string(min) + " to " + std::to_string(max),
                 text);
  }
  return *value;
}

double parse_fraction(std::string_view flag, const std::string& text) {
  const auto value = whole_text_as<double>(text);
  // Written so that NaN fails too.
  if (!value || !(*value > 0.0 && *value <= 1.0)) {
    throw refuse(flag, "a number above 0 and at most 1", text);
  }
  return *value;
}

std::chrono::milliseconds parse_seconds(std::string_view flag, const std::string& text) {
  const auto value = whole_text_as<double>(text);
  if (!value || !(*value > 0.0 && *value <= 86400.0)) {
    throw refuse(flag, "a number of seconds above 0 and at most 86400", text);
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(*value * 1000.0)));
}

std::int64_t parse_bytes(std::string_view flag, const std::string& text) {
  std::string_view digits = text;
  std::int64_t unit = 1;
  for (const auto& [suffix, size] : kByteUnits) {
    if (digits.ends_with(suffix)) {
      digits.remove_suffix(suffix.size());
      unit = size;
      break;
    }
  }
  const auto count = whole_text_as<std::int64_t>(digits);
  if (!count || *count < 1 || *count > kMostBytes / unit) {
    throw refuse(flag, "a size from 1 byte to 1TiB: a whole number of bytes, or one followed by "
                 "KiB, MiB, GiB or TiB",
                 text);
  }
  return *count * unit;
}

std::string seconds_text(std::chrono::milliseconds duration) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", static_cast<double>(duration.count()) / 1000.0);
  return text;
}

std::string bytes_text(std::int64_t bytes) {
  for (const auto& [suffix, size] : kByteUnits) {
    if (bytes >= size && bytes % size == 0) return std::to_string(bytes / size) + std::string(suffix);
  }
  return std::to_string(bytes);
}

}  // namespace tessera::app
