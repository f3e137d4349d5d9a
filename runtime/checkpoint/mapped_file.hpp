#pragma once
// A whole file mapped read-only into memory. Checkpoint shards are tens of gigabytes; mapping them
// lets every tensor-parallel rank touch only the pages of its own slices, and lets the kernel share
// those pages between processes on one machine.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <utility>

namespace tessera::runtime {

class MappedFile {
 public:
  // Throws Error(io) naming the file when it cannot be opened, is not a regular file, or cannot
  // be mapped. An empty file maps to an empty span.
  static std::unique_ptr<MappedFile> open(const std::filesystem::path& path);

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  std::size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  MappedFile(std::filesystem::path path, const std::byte* data, std::size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}

  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace tessera::runtime
