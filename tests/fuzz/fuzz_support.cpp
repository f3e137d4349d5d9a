#include "tests/fuzz/fuzz_support.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace tessera::fuzz {

namespace {

const std::filesystem::path& scratch_root();

std::filesystem::path make_scratch_dir() {
  const char* base = std::getenv("TESSERA_FUZZ_SCRATCH");
  const std::filesystem::path root = base && *base ? base : std::filesystem::temp_directory_path();
  auto dir = root / ("tessera-fuzz-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // Removed when the process ends normally; scripts/fuzz removes its whole scratch root after a
  // crash, when no destructor runs.
  std::atexit([] { std::error_code ignored; std::filesystem::remove_all(scratch_root(), ignored); });
  return dir;
}

const std::filesystem::path& scratch_root() {
  static const std::filesystem::path dir = make_scratch_dir();
  return dir;
}

}  // namespace

const std::filesystem::path& fresh_scratch_dir() {
  const auto& dir = scratch_root();
  for (const auto& entry : std::filesystem::directory_iterator(dir)) std::filesystem::remove_all(entry);
  return dir;
}

std::filesystem::path write_scratch_file(std::string_view name, std::string_view bytes) {
  auto path = scratch_root() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw std::runtime_error("cannot write the scratch file " + path.string());
  return path;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::filesystem::path& source_dir() {
  static const std::filesystem::path dir = TESSERA_FUZZ_SOURCE_DIR;
  return dir;
}

const std::filesystem::path& model_dir() {
  static const std::filesystem::path dir = source_dir() / "models" / "kjv-tiny";
  return dir;
}

std::filesystem::path data_file(std::string_view name) {
  return source_dir() / "tests" / "fuzz" / "data" / name;
}

Parts split_once(std::string_view text, std::string_view separator) {
  const auto at = text.find(separator);
  if (at == std::string_view::npos) return {text, {}, false};
  return {text.substr(0, at), text.substr(at + separator.size()), true};
}

std::span<const char* const> boundary_numbers() {
  static constexpr const char* numbers[] = {
      "0", "1", "-1", "2", "3", "7", "8", "16", "255", "256", "1000", "65535", "65536",
      "100000", "1000000", "16000000", "1000000000", "2147483647", "-2147483648", "2147483648",
      "4294967295", "4294967296", "4611686018427387904", "9223372036854775807",
      "-9223372036854775807", "-9223372036854775808", "9223372036854775808",
      "18446744073709551615", "18446744073709551616", "99999999999999999999",
      "100000000000", "1e9", "1e18", "1e19", "1e308", "1e400", "-1e400", "1e-400", "0.5", "-0.0",
      "1.7976931348623157e308", "4.9e-324"};
  return numbers;
}

std::string pick_number(FuzzedDataProvider& in) {
  const auto numbers = boundary_numbers();
  if (in.ConsumeBool()) return std::to_string(in.ConsumeIntegralInRange<int>(-3, 40));
  return numbers[in.ConsumeIntegralInRange<std::size_t>(0, numbers.size() - 1)];
}

}  // namespace tessera::fuzz
