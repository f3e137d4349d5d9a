#pragma once
// Runs the built `tessera` binary in a shell and captures what it printed and how it ended.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace tessera::testing {

struct CliResult {
  int exit_code = -1;     // -1 when the process did not exit normally (a crash)
  std::string out, err;
};

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `arguments` is appended to the binary's path as shell text; `stdin_text` is fed to it.
inline CliResult run_tessera(const std::string& arguments, const std::string& stdin_text = "") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("tessera-cli-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "in") << stdin_text;
  const std::string command = std::string("'") + TESSERA_BINARY + "' " + arguments + " <'" +
                              (dir / "in").string() + "' >'" + (dir / "out").string() + "' 2>'" +
                              (dir / "err").string() + "'";
  const int status = std::system(command.c_str());
  CliResult result;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  result.out = slurp(dir / "out");
  result.err = slurp(dir / "err");
  std::filesystem::remove_all(dir);
  return result;
}

}  // namespace tessera::testing
