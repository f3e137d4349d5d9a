#include "runtime/checkpoint/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "runtime/core/error.hpp"

namespace tessera::runtime {

namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what, int err) {
  throw Error(ErrorCategory::io, "cannot " + what + " '" + path.string() + "': " + std::strerror(err));
}

// Closes the descriptor on every path out of open(); the mapping outlives it.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::unique_ptr<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  // O_NONBLOCK: opening a FIFO planted under a checkpoint name must fail below, not hang here.
  FdGuard guard{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (guard.fd < 0) fail(path, "open", errno);
  struct stat st {};
  if (::fstat(guard.fd, &st) != 0) fail(path, "stat", errno);
  if (!S_ISREG(st.st_mode)) {
    throw Error(ErrorCategory::io, "cannot map '" + path.string() + "': expected a regular file");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0) {
    // mmap refuses a zero length; an empty file is still a valid (if useless) mapping.
    return std::unique_ptr<MappedFile>(new MappedFile(path, nullptr, 0));
  }
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, guard.fd, 0);
  if (addr == MAP_FAILED) fail(path, "mmap", errno);
  return std::unique_ptr<MappedFile>(new MappedFile(path, static_cast<const std::byte*>(addr), size));
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace tessera::runtime
