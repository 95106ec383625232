#include "runtime/vulkan/device.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <optional>

#include "runtime/core/error.h"
#include "runtime/vulkan/storage.h"

namespace glint::vk {
namespace {

// Logical devices of the process. Never destroyed by static destruction: the validation layer and the driver
// are dlopen'ed after this object exists, so their globals would die first. Instead, close_all() runs from
// std::atexit registered right after the instance is created, i.e. before those libraries tear down; storages
// freed after that find `closed` set and leave their memory to the process teardown.
struct Registry {
  std::mutex mutex;
  bool resolved = false;
  bool closed = false;
  std::shared_ptr<Instance> instance;
  std::vector<int> physical;  // logical index -> physical index
  std::vector<std::unique_ptr<Device>> devices;
};

Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

void close_all() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (auto& d : r.devices)
    if (d) d->stream().discard_open();
  r.devices.clear();
  r.instance.reset();
  Instance::shutdown();
  r.closed = true;
}

std::vector<int> parse_list(const char* s) {
  std::vector<int> out;
  std::string_view v(s);
  while (!v.empty()) {
    size_t comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    int x = -1;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), x);
    if (ec != std::errc() || p != item.data() + item.size() || x < 0)
      fail("vulkan", "GLINT_VULKAN_DEVICES must be a comma-separated list of physical device indices, got '", s, "'");
    out.push_back(x);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

// Fills the mapping once: explicit list, else every usable physical device with GPUs before CPU-type ones.
void resolve(Registry& r) {
  if (r.resolved) return;
  r.resolved = true;
  r.instance = Instance::try_get();
  if (!r.instance) return;
  std::atexit(close_all);
  const auto& pds = r.instance->devices();
  if (!r.physical.empty()) {
    for (int p : r.physical)
      if (p >= int(pds.size())) fail("vulkan", "physical device ", p, " does not exist (", pds.size(), " found)");
    return;
  }
  if (const char* env = std::getenv("GLINT_VULKAN_DEVICES"); env && *env) {
    r.physical = parse_list(env);
    for (int p : r.physical)
      if (p >= int(pds.size())) fail("vulkan", "GLINT_VULKAN_DEVICES names physical device ", p, " but only ", pds.size(), " exist");
    return;
  }
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 0; i < int(pds.size()); ++i) {
      std::string why;
      if (pds[i].is_cpu() != (pass == 1)) continue;
      if (pds[i].usable(&why)) r.physical.push_back(i);
      else if (pass == 0) spdlog::warn("[vulkan] skipping {}", why);
    }
}

}  // namespace

void set_physical_devices(std::vector<int> physical_indices) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (!r.devices.empty()) fail("vulkan", "set_physical_devices must be called before the first device is opened");
  r.physical = std::move(physical_indices);
  r.resolved = false;
}

int device_count() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  try {
    resolve(r);
  } catch (const Error& e) {
    spdlog::warn("{}", e.what());
    return 0;
  }
  return r.instance ? int(r.physical.size()) : 0;
}

std::optional<int> first_gpu_index() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  try {
    resolve(r);
  } catch (const Error&) {
    return std::nullopt;
  }
  if (!r.instance) return std::nullopt;
  for (int i = 0; i < int(r.physical.size()); ++i)
    if (!r.instance->devices()[r.physical[i]].is_cpu()) return i;
  return std::nullopt;
}

Device& device(int index) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  resolve(r);
  if (!r.instance) Instance::get();  // throws with the reason Vulkan is unavailable
  if (index < 0 || index >= int(r.physical.size()))
    fail("vulkan", "no device vulkan:", index, " (", r.physical.size(), " Vulkan device",
         r.physical.size() == 1 ? "" : "s", " available; `glint devices` lists them)");
  if (r.devices.size() <= size_t(index)) r.devices.resize(index + 1);
  if (!r.devices[index]) r.devices[index] = std::make_unique<Device>(index, r.instance->devices()[r.physical[index]]);
  return *r.devices[index];
}

bool devices_closed() { return registry().closed; }

Device::Device(int index, const PhysicalDeviceInfo& info) : index_(index), info_(info) {
  std::string why;
  if (!info.usable(&why)) fail("vulkan", "vulkan:", index, ": ", why);
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(info.handle, &n, nullptr);
  std::vector<VkQueueFamilyProperties> fams(n);
  vkGetPhysicalDeviceQueueFamilyProperties(info.handle, &n, fams.data());
  // Prefer a compute-only family (async compute on discrete GPUs), else any with compute.
  int chosen = -1;
  for (uint32_t i = 0; i < n; ++i)
    if ((fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(fams[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) {
      chosen = int(i);
      break;
    }
  for (uint32_t i = 0; i < n && chosen < 0; ++i)
    if (fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) chosen = int(i);
  if (chosen < 0) fail("vulkan", info.name, " has no compute queue");
  queue_family_ = uint32_t(chosen);
  timestamps_ = info.timestamps && fams[chosen].timestampValidBits > 0;

  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &f12};
  VkPhysicalDeviceFeatures2 supported{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &f11};
  vkGetPhysicalDeviceFeatures2(info.handle, &supported);
  // Enable exactly what the kernels use, where the device has it.
  VkPhysicalDeviceVulkan12Features e12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  e12.bufferDeviceAddress = VK_TRUE;
  e12.storageBuffer8BitAccess = VK_TRUE;
  e12.shaderInt8 = f12.shaderInt8;
  e12.shaderFloat16 = f12.shaderFloat16;
  e12.scalarBlockLayout = f12.scalarBlockLayout;
  e12.timelineSemaphore = f12.timelineSemaphore;
  VkPhysicalDeviceVulkan11Features e11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &e12};
  e11.storageBuffer16BitAccess = VK_TRUE;
  VkPhysicalDeviceFeatures2 enable{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &e11};
  enable.features.shaderInt64 = VK_TRUE;
  enable.features.shaderInt16 = supported.features.shaderInt16;
  enable.features.shaderFloat64 = supported.features.shaderFloat64;

  float priority = 1.0f;
  VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qi.queueFamilyIndex = queue_family_;
  qi.queueCount = 1;
  qi.pQueuePriorities = &priority;
  VkDeviceCreateInfo ci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, &enable};
  ci.queueCreateInfoCount = 1;
  ci.pQueueCreateInfos = &qi;
  GLINT_VK_CHECK(vkCreateDevice(info.handle, &ci, nullptr, &device_), "vkCreateDevice");
  vkGetDeviceQueue(device_, queue_family_, 0, &queue_);
  allocator_ = std::make_unique<Allocator>(*this);
  pipelines_ = std::make_unique<Pipelines>(*this);
  stream_ = std::make_unique<CommandStream>(*this);
}

Device::~Device() {
  stream_.reset();  // waits for outstanding work, returns deferred memory
  pipelines_.reset();
  allocator_.reset();
  if (device_) vkDestroyDevice(device_, nullptr);
}

void Device::synchronize() {
  std::lock_guard lock(mutex_);
  stream_->wait_all();
}

}  // namespace glint::vk
