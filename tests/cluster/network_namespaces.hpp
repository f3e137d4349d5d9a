#pragma once
// Two network namespaces joined by a veth pair, each end with its own address (10.77.0.1/24 and
// 10.77.0.2/24 by default), and processes started inside one of them through `ip netns exec`.
// Names are unique per run; the namespaces (and with them the veth pair) are deleted when the
// object goes, whatever the test did. Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2:
// `error()` says what was missing, for a GTEST_SKIP.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
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

// `ip netns exec NAME`: a ChildProcess's launcher that starts it inside namespace NAME (the
// command execs tessera itself, so the process the test holds is tessera's).
inline std::vector<std::string> in_namespace(const std::string& netns) {
  return {"ip", "netns", "exec", netns};
}

}  // namespace tessera::testing
