#pragma once
// A `tessera` process started by a test: its own environment, stdout and stderr in files, every
// wait bounded, and killed (SIGKILL) when the test lets go of it, whatever happened.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/cluster/bind_address.hpp"
#include "tests/support/cli_runner.hpp"

namespace tessera::testing {

class ChildProcess {
 public:
  // Runs TESSERA_BINARY with `arguments`, adding `environment` to the test's own, through
  // `launcher` when one is given (such as `ip netns exec NAME`, which execs it in turn).
  ChildProcess(std::string name, const std::vector<std::string>& arguments,
               const std::map<std::string, std::string>& environment = {},
               const std::vector<std::string>& launcher = {})
      : name_(std::move(name)) {
    dir_ = std::filesystem::temp_directory_path() /
           ("tessera-cluster-" + std::to_string(::getpid()) + "-" + name_ + "-" +
            std::to_string(counter()++));
    std::filesystem::create_directories(dir_);
    std::vector<std::string> argv_text = launcher;
    argv_text.push_back(TESSERA_BINARY);
    argv_text.insert(argv_text.end(), arguments.begin(), arguments.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      for (const auto& [key, value] : environment) ::setenv(key.c_str(), value.c_str(), 1);
      redirect((dir_ / "out").c_str(), STDOUT_FILENO);
      redirect((dir_ / "err").c_str(), STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& a : argv_text) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~ChildProcess() {
    kill(SIGKILL);
    wait_for(std::chrono::seconds(10));
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void kill(int signal) {
    if (!exit_code_ && pid_ > 0) ::kill(pid_, signal);
  }
  bool running() { return !poll(); }
  // The exit status (128 + signal when killed), or nothing while it still runs after `timeout`.
  std::optional<int> wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!poll() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exit_code_;
  }
  // Whether stderr came to hold `text` within `timeout` (false at once if the process ended
  // without writing it).
  bool wait_for_stderr(const std::string& text, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (err().find(text) != std::string::npos) return true;
      if (poll()) return err().find(text) != std::string::npos;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  std::string out() const { return slurp(dir_ / "out"); }
  std::string err() const { return slurp(dir_ / "err"); }
  // For failure messages: who this is and what it wrote.
  std::string report() const { return "--- " + name_ + " stderr:\n" + err(); }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  static void redirect(const char* path, int fd) {
    const int file = ::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(file, fd);
    ::close(file);
  }
  bool poll() {
    if (exit_code_ || pid_ <= 0) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
  }

  std::string name_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// A TCP port nothing listens on right now (the kernel's pick, released for the caller).
inline int free_port() { return net::free_loopback_port(); }

}  // namespace tessera::testing
