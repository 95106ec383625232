#include "runtime/vulkan/storage.h"

#include <cstring>

#include "runtime/vulkan/device.h"

namespace glint::vk {

VulkanStorage::VulkanStorage(Device& dev, size_t nbytes)
    : Storage(glint::Device::vulkan(dev.index()), nbytes), dev_(dev) {
  std::lock_guard lock(dev.mutex());
  alloc_ = dev.allocator().allocate(nbytes);
}

VulkanStorage::~VulkanStorage() {
  if (devices_closed()) return;
  std::lock_guard lock(dev_.mutex());
  bool pending = last_use_ > dev_.stream().completed_serial();
  dev_.allocator().release(alloc_, pending ? last_use_ : 0);
}

void VulkanStorage::wait_for_device() const {
  if (last_use_ > dev_.stream().completed_serial()) dev_.stream().wait(last_use_);
}

void VulkanStorage::read(size_t offset, void* dst, size_t n) const {
  if (n == 0) return;
  std::lock_guard lock(dev_.mutex());
  wait_for_device();
  if (std::byte* p = alloc_.mapped()) {
    std::memcpy(dst, p + offset, n);
    return;
  }
  Block* staging = dev_.allocator().create_staging(n);
  uint64_t a = alloc_.address() + offset;
  dev_.stream().copy(alloc_.block->buffer, alloc_.offset + offset, staging->buffer, 0, n, {a, a + n}, false);
  dev_.stream().wait_all();
  std::memcpy(dst, staging->mapped, n);
  dev_.allocator().destroy_staging(staging);
}

void VulkanStorage::write(size_t offset, const void* src, size_t n) {
  if (n == 0) return;
  std::lock_guard lock(dev_.mutex());
  wait_for_device();
  if (std::byte* p = alloc_.mapped()) {
    std::memcpy(p + offset, src, n);
    return;
  }
  Block* staging = dev_.allocator().create_staging(n);
  std::memcpy(staging->mapped, src, n);
  uint64_t a = alloc_.address() + offset;
  dev_.stream().copy(staging->buffer, 0, alloc_.block->buffer, alloc_.offset + offset, n, {a, a + n}, true);
  dev_.stream().wait_all();
  dev_.allocator().destroy_staging(staging);
}

namespace {
const bool kRegistered = [] {
  register_storage_allocator(DeviceKind::vulkan, [](glint::Device d, size_t n) -> std::shared_ptr<Storage> {
    return std::make_shared<VulkanStorage>(vk::device(d.index), n);
  });
  return true;
}();
}  // namespace

}  // namespace glint::vk
