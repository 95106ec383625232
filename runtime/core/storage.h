// Storage: a block of bytes owned by one device. Tensors are views onto a shared Storage.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>

#include "runtime/core/device.h"

namespace glint {

class Storage {
 public:
  Storage(Device device, size_t nbytes) : device_(device), nbytes_(nbytes) {}
  virtual ~Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  Device device() const { return device_; }
  size_t nbytes() const { return nbytes_; }
  // Host pointer to the bytes, or nullptr where the device has none the host may use directly.
  virtual std::byte* host_data() { return nullptr; }
  // Copies bytes between this storage and host memory, waiting for pending device work first.
  virtual void read(size_t offset, void* dst, size_t n) const = 0;
  virtual void write(size_t offset, const void* src, size_t n) = 0;

 private:
  Device device_;
  size_t nbytes_;
};

// Host memory, 64-byte aligned; or borrowed memory (e.g. an mmap'd file) kept alive by `owner`.
class CpuStorage final : public Storage {
 public:
  explicit CpuStorage(size_t nbytes);
  CpuStorage(std::byte* data, size_t nbytes, std::shared_ptr<void> owner);
  ~CpuStorage() override;
  std::byte* host_data() override { return data_; }
  void read(size_t offset, void* dst, size_t n) const override;
  void write(size_t offset, const void* src, size_t n) override;

 private:
  std::byte* data_;
  std::shared_ptr<void> owner_;  // keeps borrowed memory alive (may be null when the caller guarantees lifetime)
  bool owns_data_;                // allocated by this storage (freed by it)
};

// Each backend provides an allocator for its device kind (registered once at start-up).
using StorageAllocator = std::shared_ptr<Storage> (*)(Device, size_t nbytes);
void register_storage_allocator(DeviceKind kind, StorageAllocator alloc);
std::shared_ptr<Storage> allocate_storage(Device device, size_t nbytes);

}  // namespace glint
