// The process-wide Vulkan instance: loader, validation layer (GLINT_VALIDATION=1) and what each physical device
// offers. Creating it never crashes: without a usable driver, Instance::get() throws and callers fall back to CPU.
#pragma once
#include <vulkan/vulkan.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace glint::vk {

struct MemoryHeapInfo {
  uint64_t size;
  bool device_local;
};

struct PhysicalDeviceInfo {
  VkPhysicalDevice handle = VK_NULL_HANDLE;
  std::string name, type, driver_name, driver_info;
  uint32_t api_version = 0, vendor_id = 0, device_id = 0, driver_version = 0;
  uint8_t pipeline_cache_uuid[VK_UUID_SIZE] = {};
  std::vector<MemoryHeapInfo> heaps;
  uint32_t subgroup_size = 0;
  bool fp16 = false, bf16 = false, int8 = false, int64 = false, storage16 = false, storage8 = false;
  bool buffer_device_address = false, cooperative_matrix = false, subgroup_arithmetic = false, subgroup_compute = false;
  uint64_t max_storage_buffer_range = 0, max_allocation = 0, max_buffer_size = 0;
  uint32_t max_shared_memory = 0, max_push_constants = 0;
  uint32_t max_workgroup_count[3] = {};
  float timestamp_period = 0;
  bool timestamps = false;
  bool is_cpu() const { return type == "cpu"; }
  // Whether glint's kernels can run here; fills `why` when not.
  bool usable(std::string* why) const;
};

std::string vk_result_name(VkResult r);

class Instance {
 public:
  // The shared instance; throws glint::Error naming the reason when Vulkan is unusable (no loader, no driver).
  static std::shared_ptr<Instance> get();
  // Same, but returns null and logs one line (once) instead of throwing.
  static std::shared_ptr<Instance> try_get();
  // Drops the shared instance at process exit (after the devices made from it are gone).
  static void shutdown();
  ~Instance();

  VkInstance handle() const { return instance_; }
  const std::vector<PhysicalDeviceInfo>& devices() const { return devices_; }
  bool validation_enabled() const { return messenger_ != VK_NULL_HANDLE; }
  // Messages of severity warning or error reported by the validation layer so far.
  static size_t validation_messages();

  Instance();

 private:
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  std::vector<PhysicalDeviceInfo> devices_;
};

}  // namespace glint::vk

#define GLINT_VK_CHECK(call, what)                                                                         \
  do {                                                                                                     \
    VkResult r_ = (call);                                                                                  \
    if (r_ != VK_SUCCESS) ::glint::fail("vulkan", what, " failed: ", ::glint::vk::vk_result_name(r_));      \
  } while (0)
