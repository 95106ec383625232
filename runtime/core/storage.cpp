#include "runtime/core/storage.h"

#include <array>
#include <cstdlib>
#include <cstring>
#include <new>

#include "runtime/core/error.h"
#include "runtime/core/host_allocator.h"

namespace glint {

CpuStorage::CpuStorage(size_t nbytes) : Storage(Device::cpu(), nbytes), data_(host_alloc(nbytes)), owns_data_(true) {}

CpuStorage::CpuStorage(std::byte* data, size_t nbytes, std::shared_ptr<void> owner)
    : Storage(Device::cpu(), nbytes), data_(data), owner_(std::move(owner)), owns_data_(false) {}

CpuStorage::~CpuStorage() {
  if (owns_data_) host_free(data_, nbytes());
}

void CpuStorage::read(size_t offset, void* dst, size_t n) const { std::memcpy(dst, data_ + offset, n); }
void CpuStorage::write(size_t offset, const void* src, size_t n) { std::memcpy(data_ + offset, src, n); }

namespace {
std::array<StorageAllocator, kDeviceKinds>& allocators() {
  static std::array<StorageAllocator, kDeviceKinds> table{
      [](Device, size_t n) -> std::shared_ptr<Storage> { return std::make_shared<CpuStorage>(n); }, nullptr};
  return table;
}
}  // namespace

void register_storage_allocator(DeviceKind kind, StorageAllocator alloc) {
  allocators()[static_cast<int>(kind)] = alloc;
}

std::shared_ptr<Storage> allocate_storage(Device device, size_t nbytes) {
  auto alloc = allocators()[static_cast<int>(device.kind)];
  if (!alloc) fail("device", "no backend for ", device.str(), " in this build");
  return alloc(device, nbytes);
}

}  // namespace glint
