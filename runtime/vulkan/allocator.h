// Sub-allocating device memory: tensors take ranges of large blocks (one VkBuffer each, addressed by buffer device
// address), freed ranges are coalesced and reused, and large requests get a block of their own that is cached by
// size after release. Ranges freed while the GPU may still use them are released when that work completes.
#pragma once
#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace glint::vk {

class Device;

struct Block {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  uint64_t address = 0;       // buffer device address of byte 0
  std::byte* mapped = nullptr;  // host pointer when the memory is host-visible
  size_t size = 0;
  bool dedicated = false;
  std::map<size_t, size_t> free;  // offset -> size of each free range
  size_t used = 0;
};

struct Allocation {
  Block* block = nullptr;
  size_t offset = 0, size = 0;
  uint64_t address() const { return block->address + offset; }
  std::byte* mapped() const { return block->mapped ? block->mapped + offset : nullptr; }
};

class Allocator {
 public:
  explicit Allocator(Device& dev);
  ~Allocator();
  // Throws "[vulkan] out of memory on vulkan:N: ..." naming the request and the usage.
  Allocation allocate(size_t nbytes);
  // Returns the range once the device has finished the work recorded up to `serial` (0: now).
  void release(const Allocation& a, uint64_t serial);
  // Called by the command stream when the work up to `serial` has completed.
  void on_completed(uint64_t serial);
  // Whether tensor memory is host-visible (mapped); otherwise host reads and writes go through staging buffers.
  bool host_visible() const { return host_visible_; }
  size_t bytes_in_use() const { return in_use_; }
  size_t bytes_reserved() const { return reserved_; }
  // A host-visible buffer outside the tensor pool for staging transfers.
  Block* create_staging(size_t nbytes);
  void destroy_staging(Block* b);

 private:
  Block* create_block(size_t size, bool dedicated, uint32_t type_index, bool map);
  void destroy_block(Block* b);
  void free_now(const Allocation& a);
  bool drop_cached_blocks();
  [[noreturn]] void out_of_memory(size_t nbytes, const char* why);

  Device& dev_;
  uint32_t device_type_ = 0, staging_type_ = 0;
  bool host_visible_ = false;
  size_t block_size_ = 0, heap_size_ = 0;
  size_t in_use_ = 0, reserved_ = 0;
  std::vector<std::unique_ptr<Block>> blocks_;
  std::multimap<size_t, Block*> cached_;  // released dedicated blocks by size
  std::vector<std::pair<uint64_t, Allocation>> deferred_;
};

}  // namespace glint::vk
