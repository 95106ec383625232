// Tensor memory on a Vulkan device: a range from the device's allocator. Host reads and writes wait only for the
// dispatches that used this storage, then copy through the mapping or a staging buffer.
#pragma once
#include "runtime/core/storage.h"
#include "runtime/vulkan/allocator.h"

namespace glint::vk {

class Device;

class VulkanStorage final : public Storage {
 public:
  VulkanStorage(Device& dev, size_t nbytes);
  ~VulkanStorage() override;
  void read(size_t offset, void* dst, size_t n) const override;
  void write(size_t offset, const void* src, size_t n) override;

  Device& device() const { return dev_; }
  uint64_t address() const { return alloc_.address(); }
  // Called for every dispatch that touches this storage: host access must wait for that batch.
  void mark_used(uint64_t serial) { last_use_ = serial; }

 private:
  void wait_for_device() const;
  Device& dev_;
  Allocation alloc_;
  uint64_t last_use_ = 0;
};

}  // namespace glint::vk
