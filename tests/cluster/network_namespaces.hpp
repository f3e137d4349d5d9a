#pragma once
// Two network namespaces joined by a veth pair, each end with its own address (10.77.0.1/24 and
// 10.77.0.2/24 by default), and processes started inside one of them through `ip netns exec`.
// Names are unique per run; the namespaces (and with them the veth pair) are deleted when the
// object goes, whatever the test did. Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2:
// `error()` says what was missing, for a GTEST_SKIP.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tessera::testing {

// Runs `command` through the shell; its exit status, and its output in `output`.
inline int shell(const std::string& command, std::string* output = nullptr) {
  std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  std::string text;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe)) text += buffer;
  const int status = ::pclose(pipe);
  if (output) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class NamespacePair {
 public:
  explicit NamespacePair(std::string first_address = "10.77.0.1",
                         std::string second_address = "10.77.0.2")
      : addresses_{std::move(first_address), std::move(second_address)} {
    static int counter = 0;
    // Interface names hold at most 15 characters: keep the tag short.
    const std::string tag = std::to_string(::getpid() % 100000) + "x" + std::to_string(counter++);
    names_ = {"tessera-" + tag + "-a", "tessera-" + tag + "-b"};
    veth_ = "tsa" + tag;
    const std::string& veth_a = veth_;
    const std::string veth_b = "tsb" + tag;
    if (shell("command -v ip") != 0) {
      error_ = "the `ip` command (iproute2) is not installed";
      return;
    }
    const std::vector<std::string> steps = {
        "ip netns add " + names_[0],
        "ip netns add " + names_[1],
        "ip link add " + veth_a + " type veth peer name " + veth_b,
        "ip link set " + veth_a + " netns " + names_[0],
        "ip link set " + veth_b + " netns " + names_[1],
        "ip -n " + names_[0] + " addr add " + addresses_[0] + "/24 dev " + veth_a,
        "ip -n " + names_[1] + " addr add " + addresses_[1] + "/24 dev " + veth_b,
        "ip -n " + names_[0] + " link set " + veth_a + " up",
        "ip -n " + names_[1] + " link set " + veth_b + " up",
        // A node's own ranks reach each other through its address, which needs loopback up.
        "ip -n " + names_[0] + " link set lo up",
        "ip -n " + names_[1] + " link set lo up",
    };
    for (const auto& step : steps) {
      std::string output;
      if (shell(step, &output) != 0) {
        error_ = "`" + step + "` failed (" + output + ")";
        return;
      }
      if (step.rfind("ip netns add ", 0) == 0) ++created_;
    }
  }
  ~NamespacePair() {
    for (int i = 0; i < created_; ++i) shell("ip netns delete " + names_[static_cast<std::size_t>(i)]);
    // Gone with its namespace, unless setting up failed before it was moved into one.
    if (created_ > 0) shell("ip link delete " + veth_);
  }
  NamespacePair(const NamespacePair&) = delete;
  NamespacePair& operator=(const NamespacePair&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& name(int i) const { return names_.at(static_cast<std::size_t>(i)); }
  const std::string& address(int i) const { return addresses_.at(static_cast<std::size_t>(i)); }

 private:
  std::vector<std::string> names_;
  std::vector<std::string> addresses_;
  std::string veth_;
  int created_ = 0;
  std::string error_;
};

// TESSERA_BINARY run inside a network namespace, with stdout and stderr in files, every wait
// bounded, and SIGKILLed when the test lets go of it (`ip netns exec` execs the command itself,
// so the process is tessera's).
class NamespacedProcess {
 public:
  NamespacedProcess(std::string name, const std::string& netns, const std::vector<std::string>& arguments,
                    const std::map<std::string, std::string>& environment)
      : name_(std::move(name)) {
    dir_ = std::filesystem::temp_directory_path() /
           ("tessera-netns-" + std::to_string(::getpid()) + "-" + name_ + "-" +
            std::to_string(counter()++));
    std::filesystem::create_directories(dir_);
    std::vector<std::string> argv_text{"ip", "netns", "exec", netns, TESSERA_BINARY};
    argv_text.insert(argv_text.end(), arguments.begin(), arguments.end());
    pid_ = ::fork();
    if (pid_ == 0) {
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
  ~NamespacedProcess() {
    if (!exit_code_ && pid_ > 0) ::kill(pid_, SIGKILL);
    wait_for(std::chrono::seconds(10));
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  NamespacedProcess(const NamespacedProcess&) = delete;
  NamespacedProcess& operator=(const NamespacedProcess&) = delete;

  std::optional<int> wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!poll() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exit_code_;
  }
  std::string out() const { return slurp(dir_ / "out"); }
  std::string err() const { return slurp(dir_ / "err"); }
  std::string report() const { return "--- " + name_ + " stderr:\n" + err(); }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  static std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
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

}  // namespace tessera::testing
