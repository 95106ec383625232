// A private (copy-on-write) memory mapping of a whole file, shared by the tensors that borrow from it (zero-copy
// loading). Writes through it stay in this process; the file is never modified.
#pragma once
#include <cstddef>
#include <memory>
#include <span>
#include <string>

namespace glint::io {

class MappedFile {
 public:
  // Maps `path` read-only; throws "[io] <path>: <reason>" when it cannot be opened or mapped. Empty files map to
  // an empty span.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }

 private:
  MappedFile(std::string path, const std::byte* data, size_t size) : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  const std::byte* data_;
  size_t size_;
};

}  // namespace glint::io
