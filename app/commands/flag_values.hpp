#pragma once
// Reading one flag's value as typed. Each function takes the flag's name so that a refusal says
// which flag was wrong, what it accepts and what it got:
//   "--kv-block-size must be a power of two from 1 to 256 (got '3')".
// All throw Error(ErrorCategory::invalid_argument).
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace tessera::app {

// A whole number from `min` to `max`, in decimal, nothing else around it.
std::int64_t parse_whole_number(std::string_view flag, const std::string& text, std::int64_t min,
                                std::int64_t max);

// A power of two from `min` to `max` (both powers of two).
std::int64_t parse_power_of_two(std::string_view flag, const std::string& text, std::int64_t min,
                                std::int64_t max);

// A number above 0 and at most 1.
double parse_fraction(std::string_view flag, const std::string& text);

// Seconds above 0 and at most a day, fractions allowed ("0.5"), rounded up to milliseconds.
std::chrono::milliseconds parse_seconds(std::string_view flag, const std::string& text);

// A byte count from 1 byte to 1 TiB: a whole number, optionally followed by KiB, MiB, GiB or TiB
// ("268435456", "256MiB").
std::int64_t parse_bytes(std::string_view flag, const std::string& text);

// How the flags write their values back, for the defaults --help shows.
std::string seconds_text(std::chrono::milliseconds duration);  // 30000 ms: "30", 500 ms: "0.5"
std::string bytes_text(std::int64_t bytes);  // the largest unit that divides it: "256MiB", "1000"

}  // namespace tessera::app
