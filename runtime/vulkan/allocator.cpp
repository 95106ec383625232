#include "runtime/vulkan/allocator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "runtime/core/error.h"
#include "runtime/vulkan/device.h"

namespace glint::vk {
namespace {

constexpr size_t kAlign = 256;            // covers vec4 loads and every minStorageBufferOffsetAlignment seen
constexpr size_t kDefaultBlock = 64u << 20;  // big enough to amortise vkAllocateMemory, small enough to not waste
constexpr size_t kCachedLimit = 8;

size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

std::string mib(size_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", double(n) / (1 << 20));
  return buf;
}

// The memory type with all `want` flags, preferring the first (the loader lists types by preference).
int find_type(const VkPhysicalDeviceMemoryProperties& mp, uint32_t type_bits, VkMemoryPropertyFlags want) {
  for (uint32_t i = 0; i < mp.memoryTypeCount; ++i)
    if ((type_bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want) return int(i);
  return -1;
}

}  // namespace

Allocator::Allocator(Device& dev) : dev_(dev) {
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(dev.info().handle, &mp);
  const uint32_t all = ~0u;
  const auto dl = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  const auto hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  int local = find_type(mp, all, dl);
  int unified = find_type(mp, all, dl | hv);
  if (local < 0) local = find_type(mp, all, 0);
  // Zero-copy when device-local memory is also host-visible and that heap is the main one (unified memory, or a
  // resizable BAR covering VRAM); a 256 MiB BAR window is not worth it.
  size_t local_heap = mp.memoryHeaps[mp.memoryTypes[local].heapIndex].size;
  bool force_staging = std::getenv("GLINT_VK_STAGING") && *std::getenv("GLINT_VK_STAGING") == '1';
  if (unified >= 0 && !force_staging && mp.memoryHeaps[mp.memoryTypes[unified].heapIndex].size * 2 >= local_heap) {
    device_type_ = uint32_t(unified);
    host_visible_ = true;
  } else {
    device_type_ = uint32_t(local);
  }
  heap_size_ = mp.memoryHeaps[mp.memoryTypes[device_type_].heapIndex].size;
  int staging = find_type(mp, all, hv | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
  if (staging < 0) staging = find_type(mp, all, hv);
  if (staging < 0) fail("vulkan", dev.info().name, " has no host-visible memory");
  staging_type_ = uint32_t(staging);
  block_size_ = std::min<size_t>({kDefaultBlock, dev.info().max_allocation, dev.info().max_buffer_size});
}

Allocator::~Allocator() {
  for (auto& b : blocks_) destroy_block(b.get());
}

Block* Allocator::create_block(size_t size, bool dedicated, uint32_t type_index, bool map) {
  auto b = std::make_unique<Block>();
  b->size = size;
  b->dedicated = dedicated;
  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = size;
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT |
             VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  if (vkCreateBuffer(dev_.handle(), &bi, nullptr, &b->buffer) != VK_SUCCESS) return nullptr;
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(dev_.handle(), b->buffer, &req);
  VkMemoryAllocateFlagsInfo flags{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO};
  flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, &flags};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = type_index;
  if (!(req.memoryTypeBits & (1u << type_index)) ||
      vkAllocateMemory(dev_.handle(), &ai, nullptr, &b->memory) != VK_SUCCESS) {
    vkDestroyBuffer(dev_.handle(), b->buffer, nullptr);
    return nullptr;
  }
  vkBindBufferMemory(dev_.handle(), b->buffer, b->memory, 0);
  VkBufferDeviceAddressInfo addr{VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO};
  addr.buffer = b->buffer;
  b->address = vkGetBufferDeviceAddress(dev_.handle(), &addr);
  if (map) {
    void* p = nullptr;
    GLINT_VK_CHECK(vkMapMemory(dev_.handle(), b->memory, 0, VK_WHOLE_SIZE, 0, &p), "vkMapMemory");
    b->mapped = static_cast<std::byte*>(p);
  }
  b->free[0] = size;
  reserved_ += size;
  blocks_.push_back(std::move(b));
  return blocks_.back().get();
}

void Allocator::destroy_block(Block* b) {
  if (b->mapped) vkUnmapMemory(dev_.handle(), b->memory);
  vkDestroyBuffer(dev_.handle(), b->buffer, nullptr);
  vkFreeMemory(dev_.handle(), b->memory, nullptr);
  reserved_ -= b->size;
}

bool Allocator::drop_cached_blocks() {
  dev_.stream().wait_all();  // completes deferred releases too
  bool dropped = false;
  auto drop = [&](Block* b) {
    destroy_block(b);
    std::erase_if(blocks_, [&](const auto& p) { return p.get() == b; });
    dropped = true;
  };
  for (auto& [size, b] : cached_) drop(b);
  cached_.clear();
  std::vector<Block*> empty;
  for (auto& b : blocks_)
    if (!b->dedicated && b->used == 0) empty.push_back(b.get());
  for (Block* b : empty) drop(b);
  return dropped;
}

void Allocator::out_of_memory(size_t nbytes, const char* why) {
  fail("vulkan", "out of memory on ", dev_.info().name, " (vulkan:", dev_.index(), "): asked for ", mib(nbytes), " (",
       nbytes, " bytes); ", mib(in_use_), " in use by tensors, ", mib(reserved_), " reserved, heap ", mib(heap_size_),
       "; ", why);
}

Allocation Allocator::allocate(size_t nbytes) {
  size_t n = round_up(std::max<size_t>(nbytes, 1), kAlign);
  if (n > dev_.info().max_allocation || n > dev_.info().max_buffer_size)
    out_of_memory(nbytes, "larger than the device's largest single allocation");
  if (n > heap_size_) out_of_memory(nbytes, "larger than the memory heap");
  Allocation a;
  if (n > block_size_ / 2) {  // its own block: reuse a cached one of similar size, else allocate
    auto it = cached_.lower_bound(n);
    if (it != cached_.end() && it->first <= n + n / 4) {
      a.block = it->second;
      cached_.erase(it);
    } else {
      size_t size = round_up(n, 1 << 16);
      a.block = create_block(size, true, device_type_, host_visible_);
      if (!a.block && drop_cached_blocks()) a.block = create_block(size, true, device_type_, host_visible_);
      if (!a.block) out_of_memory(nbytes, "vkAllocateMemory failed");
    }
    a.block->free.clear();
    a.offset = 0;
  } else {
    for (auto& b : blocks_) {  // first fit over shared blocks
      if (b->dedicated) continue;
      for (auto it = b->free.begin(); it != b->free.end(); ++it) {
        if (it->second < n) continue;
        a.block = b.get();
        a.offset = it->first;
        size_t rest = it->second - n;
        b->free.erase(it);
        if (rest) b->free[a.offset + n] = rest;
        break;
      }
      if (a.block) break;
    }
    if (!a.block) {
      Block* b = create_block(block_size_, false, device_type_, host_visible_);
      if (!b && drop_cached_blocks()) b = create_block(block_size_, false, device_type_, host_visible_);
      if (!b) out_of_memory(nbytes, "vkAllocateMemory failed");
      a.block = b;
      a.offset = 0;
      b->free.clear();
      if (block_size_ > n) b->free[n] = block_size_ - n;
    }
  }
  a.size = n;
  a.block->used += n;
  in_use_ += n;
  return a;
}

void Allocator::free_now(const Allocation& a) {
  Block* b = a.block;
  b->used -= a.size;
  in_use_ -= a.size;
  if (b->dedicated) {
    cached_.emplace(b->size, b);
    if (cached_.size() > kCachedLimit) {  // keep the cache bounded: drop the largest
      auto last = std::prev(cached_.end());
      Block* victim = last->second;
      cached_.erase(last);
      destroy_block(victim);
      std::erase_if(blocks_, [&](const auto& p) { return p.get() == victim; });
    }
    return;
  }
  // Insert and merge with neighbours.
  auto [it, ok] = b->free.emplace(a.offset, a.size);
  if (auto next = std::next(it); next != b->free.end() && it->first + it->second == next->first) {
    it->second += next->second;
    b->free.erase(next);
  }
  if (it != b->free.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      b->free.erase(it);
    }
  }
}

void Allocator::release(const Allocation& a, uint64_t serial) {
  if (serial == 0) free_now(a);
  else deferred_.emplace_back(serial, a);
}

void Allocator::on_completed(uint64_t serial) {
  std::erase_if(deferred_, [&](const auto& d) {
    if (d.first > serial) return false;
    free_now(d.second);
    return true;
  });
}

Block* Allocator::create_staging(size_t nbytes) {
  Block* b = create_block(round_up(std::max<size_t>(nbytes, 1), kAlign), true, staging_type_, true);
  if (!b) out_of_memory(nbytes, "cannot allocate a host-visible staging buffer");
  reserved_ -= b->size;  // staging is not tensor memory
  return b;
}

void Allocator::destroy_staging(Block* b) {
  reserved_ += b->size;
  destroy_block(b);
  std::erase_if(blocks_, [&](const auto& p) { return p.get() == b; });
}

}  // namespace glint::vk
