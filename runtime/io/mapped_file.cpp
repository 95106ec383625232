#include "runtime/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/core/error.h"

namespace glint::io {

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("io", path, ": cannot open: ", std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("io", path, ": not a regular file");
  }
  size_t size = size_t(st.st_size);
  void* p = nullptr;
  if (size > 0) {
    // Copy-on-write: tensors that borrow the mapping may be written in place (e.g. fine-tuning loaded weights);
    // the writes stay private to this process and never reach the file.
    p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      fail("io", path, ": cannot map ", size, " bytes: ", std::strerror(e));
    }
  }
  ::close(fd);  // the mapping stays valid
  return std::shared_ptr<MappedFile>(new MappedFile(path, static_cast<const std::byte*>(p), size));
}

MappedFile::~MappedFile() {
  if (size_) munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace glint::io
