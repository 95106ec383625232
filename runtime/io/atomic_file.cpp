#include "runtime/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "runtime/core/error.h"

namespace glint::io {

AtomicFile::AtomicFile(std::string path, std::string_view area) : path_(std::move(path)), area_(area) {
  // mkstemp gives a unique name in the target's folder, so the final rename never crosses file systems.
  std::string pattern = path_ + ".tmp.XXXXXX";
  int fd = mkstemp(pattern.data());
  if (fd < 0) fail(area_, path_, ": cannot create a temporary file beside it: ", std::strerror(errno));
  fchmod(fd, 0644);  // mkstemp makes 0600; written files should read like any other
  temp_ = pattern;
  file_ = fdopen(fd, "wb");
  if (!file_) {
    int e = errno;
    ::close(fd);
    std::remove(temp_.c_str());
    fail(area_, path_, ": cannot open ", temp_, ": ", std::strerror(e));
  }
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!temp_.empty()) std::remove(temp_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  GLINT_CHECK(file_, area_, path_, ": write after commit");
  if (n && std::fwrite(data, 1, n, file_) != n) fail(area_, path_, ": write failed: ", std::strerror(errno));
}

void AtomicFile::commit() {
  GLINT_CHECK(file_, area_, path_, ": committed twice");
  bool ok = std::fflush(file_) == 0 && fsync(fileno(file_)) == 0;
  int e = errno;
  ok = std::fclose(file_) == 0 && ok;
  file_ = nullptr;
  if (!ok) fail(area_, path_, ": cannot flush ", temp_, ": ", std::strerror(e));
  if (std::rename(temp_.c_str(), path_.c_str()) != 0)
    fail(area_, path_, ": cannot rename ", temp_, " over it: ", std::strerror(errno));
  temp_.clear();
  // Make the rename itself durable; failure here leaves a correct file, so it is not an error.
  std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomically(const std::string& path, std::string_view text, std::string_view area) {
  AtomicFile f(path, area);
  f.write(text);
  f.commit();
}

}  // namespace glint::io
