// One logical Vulkan device (vulkan:N): its compute queue, memory allocator, pipeline cache and command stream.
// Several logical devices may sit on one physical device (GLINT_VULKAN_DEVICES=0,0): each is independent, which is
// how tests stand in for two GPUs.
#pragma once
#include <vulkan/vulkan.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/vulkan/allocator.h"
#include "runtime/vulkan/command_stream.h"
#include "runtime/vulkan/instance.h"
#include "runtime/vulkan/pipelines.h"

namespace glint::vk {

// Number of logical Vulkan devices (0 without a usable driver; never throws).
int device_count();
// Logical device N, created on first use; throws "[vulkan] ..." when N does not exist.
Device& device(int index);
// The first logical device on a non-CPU physical device (what the default device picks), if any.
std::optional<int> first_gpu_index();
// True once the process has begun tearing the devices down.
bool devices_closed();
// Which physical device each logical device uses: GLINT_VULKAN_DEVICES ("0,0" = two devices on physical 0), else
// one logical device per usable physical device in the loader's order. Must be called before the first device().
void set_physical_devices(std::vector<int> physical_indices);

class Device {
 public:
  Device(int index, const PhysicalDeviceInfo& info);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  int index() const { return index_; }
  const PhysicalDeviceInfo& info() const { return info_; }
  VkDevice handle() const { return device_; }
  VkQueue queue() const { return queue_; }
  uint32_t queue_family() const { return queue_family_; }
  Allocator& allocator() { return *allocator_; }
  Pipelines& pipelines() { return *pipelines_; }
  CommandStream& stream() { return *stream_; }
  // Serialises use of this device's stream across threads.
  std::recursive_mutex& mutex() { return mutex_; }
  // Whether the compute queue writes GPU timestamps (GLINT_PROFILE).
  bool timestamps() const { return timestamps_; }
  // Waits until every recorded dispatch has finished.
  void synchronize();

 private:
  int index_;
  PhysicalDeviceInfo info_;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  bool timestamps_ = false;
  std::recursive_mutex mutex_;
  std::unique_ptr<Allocator> allocator_;
  std::unique_ptr<Pipelines> pipelines_;
  std::unique_ptr<CommandStream> stream_;
};

}  // namespace glint::vk
