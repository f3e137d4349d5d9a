#pragma once
// Runs one DISABLED_ test of this executable in a child process that is killed after
// `limit_seconds`: a test that something does not hang must not be able to hang the suite. A
// child also keeps NCCL's state after an abort out of this process.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "tests/support/cli_runner.hpp"

namespace tessera::testing {

inline void run_guarded(const std::string& test, int limit_seconds) {
  const auto self = std::filesystem::read_symlink("/proc/self/exe").string();
  const auto log = std::filesystem::temp_directory_path() /
                   ("tessera-nccl-guarded-" + std::to_string(::getpid()) + ".log");
  const std::string command = "timeout -s KILL " + std::to_string(limit_seconds) + " '" + self +
                              "' --gtest_also_run_disabled_tests --gtest_filter='" + test + "' >'" +
                              log.string() + "' 2>&1";
  const int status = std::system(command.c_str());
  const int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  const std::string output = slurp(log);
  std::filesystem::remove(log);
  EXPECT_EQ(exit_code, 0) << test << (exit_code == 137 ? " hung and was killed" : " failed")
                          << ":\n"
                          << output;
  std::cout << output;
}

}  // namespace tessera::testing
