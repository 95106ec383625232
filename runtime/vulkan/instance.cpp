#include "runtime/vulkan/instance.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

#include "runtime/core/error.h"

namespace glint::vk {
namespace {

std::atomic<size_t> g_validation_messages{0};

VKAPI_ATTR VkBool32 VKAPI_CALL on_validation(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                             VkDebugUtilsMessageTypeFlagsEXT, const VkDebugUtilsMessengerCallbackDataEXT* data,
                                             void*) {
  if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    ++g_validation_messages;
    spdlog::error("[vulkan validation] {}", data->pMessage);
  }
  return VK_FALSE;
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

const char* type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

PhysicalDeviceInfo probe(VkPhysicalDevice pd) {
  PhysicalDeviceInfo info;
  info.handle = pd;
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES, &subgroup};
  VkPhysicalDeviceMaintenance3Properties maint3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES, &driver};
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &maint3};
  vkGetPhysicalDeviceProperties2(pd, &props);
  const auto& p = props.properties;
  info.name = p.deviceName;
  info.type = type_name(p.deviceType);
  info.driver_name = driver.driverName;
  info.driver_info = driver.driverInfo;
  info.api_version = p.apiVersion;
  info.vendor_id = p.vendorID;
  info.device_id = p.deviceID;
  info.driver_version = p.driverVersion;
  std::memcpy(info.pipeline_cache_uuid, p.pipelineCacheUUID, VK_UUID_SIZE);
  info.subgroup_size = subgroup.subgroupSize;
  info.subgroup_arithmetic = (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) != 0;
  const VkSubgroupFeatureFlags needed =
      VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_VOTE_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
  info.subgroup_compute = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                          (subgroup.supportedOperations & needed) == needed;
  info.max_storage_buffer_range = p.limits.maxStorageBufferRange;
  info.max_allocation = maint3.maxMemoryAllocationSize;
  info.max_shared_memory = p.limits.maxComputeSharedMemorySize;
  info.max_push_constants = p.limits.maxPushConstantsSize;
  for (int i = 0; i < 3; ++i) info.max_workgroup_count[i] = p.limits.maxComputeWorkGroupCount[i];
  info.timestamp_period = p.limits.timestampPeriod;
  info.timestamps = p.limits.timestampComputeAndGraphics;

  VkPhysicalDeviceMaintenance4Properties maint4{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES};
  if (p.apiVersion >= VK_API_VERSION_1_3) {
    VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &maint4};
    vkGetPhysicalDeviceProperties2(pd, &p2);
    info.max_buffer_size = maint4.maxBufferSize;
  } else {
    info.max_buffer_size = info.max_allocation;
  }

  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &f12};
  VkPhysicalDeviceFeatures2 f{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &f11};
  vkGetPhysicalDeviceFeatures2(pd, &f);
  info.fp16 = f12.shaderFloat16;
  info.int8 = f12.shaderInt8;
  info.int64 = f.features.shaderInt64;
  info.storage16 = f11.storageBuffer16BitAccess;
  info.storage8 = f12.storageBuffer8BitAccess;
  info.buffer_device_address = f12.bufferDeviceAddress;

  uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> exts(n);
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, exts.data());
  for (auto& e : exts) {
    std::string_view name = e.extensionName;
    if (name == "VK_KHR_cooperative_matrix" || name == "VK_NV_cooperative_matrix") info.cooperative_matrix = true;
    if (name == "VK_KHR_shader_bfloat16") info.bf16 = true;
  }

  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(pd, &mem);
  for (uint32_t i = 0; i < mem.memoryHeapCount; ++i)
    info.heaps.push_back({mem.memoryHeaps[i].size, (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0});
  return info;
}

}  // namespace

std::string vk_result_name(VkResult r) {
  switch (r) {
#define X(c) case c: return #c;
    X(VK_SUCCESS) X(VK_NOT_READY) X(VK_TIMEOUT) X(VK_INCOMPLETE) X(VK_ERROR_OUT_OF_HOST_MEMORY)
    X(VK_ERROR_OUT_OF_DEVICE_MEMORY) X(VK_ERROR_INITIALIZATION_FAILED) X(VK_ERROR_DEVICE_LOST)
    X(VK_ERROR_MEMORY_MAP_FAILED) X(VK_ERROR_LAYER_NOT_PRESENT) X(VK_ERROR_EXTENSION_NOT_PRESENT)
    X(VK_ERROR_FEATURE_NOT_PRESENT) X(VK_ERROR_INCOMPATIBLE_DRIVER) X(VK_ERROR_TOO_MANY_OBJECTS)
    X(VK_ERROR_FORMAT_NOT_SUPPORTED) X(VK_ERROR_FRAGMENTED_POOL) X(VK_ERROR_UNKNOWN)
#undef X
    default: return "VkResult(" + std::to_string(int(r)) + ")";
  }
}

bool PhysicalDeviceInfo::usable(std::string* why) const {
  std::string missing;
  if (api_version < VK_API_VERSION_1_2) missing += " Vulkan 1.2";
  if (!buffer_device_address) missing += " bufferDeviceAddress";
  if (!int64) missing += " shaderInt64";
  if (!storage16) missing += " storageBuffer16BitAccess";
  if (!storage8) missing += " storageBuffer8BitAccess";
  if (!subgroup_compute) missing += " subgroup basic/vote/arithmetic in compute shaders";
  if (missing.empty()) return true;
  if (why) *why = name + " lacks" + missing;
  return false;
}

Instance::Instance() {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "glint";
  app.pEngineName = "glint";
  app.apiVersion = VK_API_VERSION_1_2;

  std::vector<const char*> layers, exts;
  bool want_validation = env_flag("GLINT_VALIDATION");
  if (want_validation) {
    uint32_t n = 0;
    vkEnumerateInstanceLayerProperties(&n, nullptr);
    std::vector<VkLayerProperties> props(n);
    vkEnumerateInstanceLayerProperties(&n, props.data());
    bool found = false;
    for (auto& l : props) found |= std::strcmp(l.layerName, "VK_LAYER_KHRONOS_validation") == 0;
    if (found) {
      layers.push_back("VK_LAYER_KHRONOS_validation");
      exts.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    } else {
      spdlog::warn("[vulkan] GLINT_VALIDATION is set but VK_LAYER_KHRONOS_validation is not installed");
      want_validation = false;
    }
  }
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  ci.enabledLayerCount = uint32_t(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  ci.enabledExtensionCount = uint32_t(exts.size());
  ci.ppEnabledExtensionNames = exts.data();
  GLINT_VK_CHECK(vkCreateInstance(&ci, nullptr, &instance_), "vkCreateInstance");

  if (want_validation) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkCreateDebugUtilsMessengerEXT"));
    VkDebugUtilsMessengerCreateInfoEXT mi{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    mi.pfnUserCallback = on_validation;
    if (create) create(instance_, &mi, nullptr, &messenger_);
  }

  uint32_t n = 0;
  VkResult r = vkEnumeratePhysicalDevices(instance_, &n, nullptr);
  if (r != VK_SUCCESS || n == 0) {
    vkDestroyInstance(instance_, nullptr);
    instance_ = VK_NULL_HANDLE;
    fail("vulkan", "no Vulkan devices (vkEnumeratePhysicalDevices: ", vk_result_name(r), ")");
  }
  std::vector<VkPhysicalDevice> pds(n);
  vkEnumeratePhysicalDevices(instance_, &n, pds.data());
  for (auto pd : pds) devices_.push_back(probe(pd));
}

Instance::~Instance() {
  if (messenger_) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy) destroy(instance_, messenger_, nullptr);
  }
  if (instance_) vkDestroyInstance(instance_, nullptr);
}

size_t Instance::validation_messages() { return g_validation_messages.load(); }

namespace {
std::mutex g_instance_mutex;
std::shared_ptr<Instance> g_instance;
std::string g_instance_error;
bool g_tried = false;
}  // namespace

std::shared_ptr<Instance> Instance::get() {
  std::lock_guard lock(g_instance_mutex);
  if (!g_tried) {
    g_tried = true;
    try {
      g_instance = std::make_shared<Instance>();
    } catch (const std::exception& e) {
      g_instance_error = e.what();
    }
  }
  if (!g_instance) throw Error(g_instance_error);
  return g_instance;
}

void Instance::shutdown() {
  std::lock_guard lock(g_instance_mutex);
  g_instance.reset();
  g_instance_error = "[vulkan] the Vulkan runtime has shut down";
}

std::shared_ptr<Instance> Instance::try_get() {
  try {
    return get();
  } catch (const Error& e) {
    static std::once_flag once;
    std::call_once(once, [&] { spdlog::warn("{}; using the CPU backend", e.what()); });
    return nullptr;
  }
}

}  // namespace glint::vk
