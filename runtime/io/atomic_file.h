// Writes a file atomically: bytes go to a temporary file beside the target, which replaces the target only on
// commit(). A writer that throws (or is destroyed uncommitted) leaves the old file untouched and no temporary behind.
#pragma once
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace glint::io {

class AtomicFile {
 public:
  // Creates the temporary file; throws "[area] <path>: ..." when it cannot.
  AtomicFile(std::string path, std::string_view area);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  // Flushes to disk and renames over the target.
  void commit();
  const std::string& temp_path() const { return temp_; }

 private:
  std::string path_, temp_, area_;
  std::FILE* file_ = nullptr;
};

// Writes `text` to `path` atomically.
void write_file_atomically(const std::string& path, std::string_view text, std::string_view area);

}  // namespace glint::io
