#pragma once
// What the bench programs share: their plain `--flag value` arguments and the median they
// report.
#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace tessera::bench {

// The value after `flag`, or `fallback` when the flag is absent.
inline std::string flag_value(int argc, char** argv, const std::string& flag,
                              const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == flag) return argv[i + 1];
  }
  return fallback;
}

// "1,16,64" -> {1, 16, 64}.
inline std::vector<int> int_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoi(item));
  return out;
}

inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace tessera::bench
