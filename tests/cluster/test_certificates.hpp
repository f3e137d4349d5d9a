#pragma once
// Certificates made at test time with the `openssl` command line, in a temporary folder removed
// afterwards: CAs, and node certificates signed by one of them. Tests skip when `openssl` is
// absent (scripts/setup installs it).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace tessera::testing {

class TestCertificates {
 public:
  static bool openssl_available() {
    return std::system("command -v openssl >/dev/null 2>&1") == 0;
  }

  TestCertificates() {
    static int counter = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("tessera-certs-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
  }
  ~TestCertificates() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  TestCertificates(const TestCertificates&) = delete;
  TestCertificates& operator=(const TestCertificates&) = delete;

  // A self-signed CA: NAME.pem and NAME.key. Whether openssl succeeded.
  bool make_ca(const std::string& name) {
    return run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" + name +
               " -keyout " + key(name) + " -out " + pem(name));
  }
  // A node certificate signed by CA `ca`: NAME.pem and NAME.key.
  bool make_node(const std::string& name, const std::string& ca) {
    const std::string csr = (dir_ / (name + ".csr")).string();
    return run("openssl req -newkey rsa:2048 -nodes -subj /CN=" + name + " -keyout " + key(name) +
               " -out " + csr) &&
           run("openssl x509 -req -days 2 -in " + csr + " -CA " + pem(ca) + " -CAkey " + key(ca) +
               " -CAcreateserial -out " + pem(name));
  }

  std::string pem(const std::string& name) const { return (dir_ / (name + ".pem")).string(); }
  std::string key(const std::string& name) const { return (dir_ / (name + ".key")).string(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  static bool run(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
  }

  std::filesystem::path dir_;
};

}  // namespace tessera::testing
