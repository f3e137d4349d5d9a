#include "runtime/tokenizer/tokenizer_file.hpp"

#include <fstream>
#include <sstream>

namespace tessera::runtime {

std::string read_tokenizer_file(const std::filesystem::path& file, std::uintmax_t max_bytes,
                                ErrorCategory category) {
  std::error_code ec;
  if (std::filesystem::exists(file, ec) && !std::filesystem::is_regular_file(file, ec)) {
    throw Error(category, file.string() + ": expected a regular file");
  }
  if (const auto size = std::filesystem::file_size(file, ec); !ec && size > max_bytes) {
    throw Error(category, file.string() + ": " + std::to_string(size) +
                              " bytes, more than tessera's limit of " + std::to_string(max_bytes));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorCategory::io, file.string() + ": cannot open");
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (!in.good() && !in.eof()) throw Error(ErrorCategory::io, file.string() + ": read failed");
  return std::move(buffer).str();
}

}  // namespace tessera::runtime
