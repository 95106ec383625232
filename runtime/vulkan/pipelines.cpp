#include "runtime/vulkan/pipelines.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "runtime/core/error.h"
#include "runtime/vulkan/device.h"
#include "runtime/vulkan/dispatch.h"
#include "runtime/vulkan/shader_registry.h"

namespace glint::vk {
namespace {

// glint's header in front of the driver's cache data. The driver validates its own header too, but some drivers
// accept stale data from an older driver build; this header makes the rule explicit.
struct CacheHeader {
  char magic[8] = {'G', 'L', 'I', 'N', 'T', 'P', 'C', '1'};
  char glint_version[16] = {};
  uint32_t vendor_id = 0, device_id = 0, driver_version = 0, payload_bytes = 0;
  uint8_t uuid[VK_UUID_SIZE] = {};
};

CacheHeader header_for(const PhysicalDeviceInfo& info) {
  CacheHeader h;
  std::strncpy(h.glint_version, GLINT_VERSION, sizeof h.glint_version - 1);
  h.vendor_id = info.vendor_id;
  h.device_id = info.device_id;
  h.driver_version = info.driver_version;
  std::memcpy(h.uuid, info.pipeline_cache_uuid, VK_UUID_SIZE);
  return h;
}

}  // namespace

std::string pipeline_cache_path(const PhysicalDeviceInfo& info) {
  std::filesystem::path dir;
  if (const char* d = std::getenv("GLINT_CACHE_DIR"); d && *d) dir = d;
  else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) dir = std::filesystem::path(x) / "glint";
  else if (const char* h = std::getenv("HOME"); h && *h) dir = std::filesystem::path(h) / ".cache" / "glint";
  else return {};
  char name[64];
  std::snprintf(name, sizeof name, "pipelines-%04x-%04x.bin", info.vendor_id, info.device_id);
  return (dir / name).string();
}

std::vector<uint8_t> pipeline_cache_payload(const std::vector<uint8_t>& file, const PhysicalDeviceInfo& info) {
  CacheHeader want = header_for(info), got;
  if (file.size() < sizeof got) return {};
  std::memcpy(&got, file.data(), sizeof got);
  if (std::memcmp(&got, &want, offsetof(CacheHeader, payload_bytes)) != 0 ||
      std::memcmp(got.uuid, want.uuid, VK_UUID_SIZE) != 0 || got.payload_bytes != file.size() - sizeof got)
    return {};
  return {file.begin() + sizeof got, file.end()};
}

std::vector<uint8_t> pipeline_cache_file(const std::vector<uint8_t>& payload, const PhysicalDeviceInfo& info) {
  CacheHeader h = header_for(info);
  h.payload_bytes = uint32_t(payload.size());
  std::vector<uint8_t> out(sizeof h);
  std::memcpy(out.data(), &h, sizeof h);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Pipelines::Pipelines(Device& dev) : dev_(dev) {
  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, kMaxPushConstantBytes};
  VkPipelineLayoutCreateInfo li{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  li.pushConstantRangeCount = 1;
  li.pPushConstantRanges = &range;
  GLINT_VK_CHECK(vkCreatePipelineLayout(dev.handle(), &li, nullptr, &layout_), "vkCreatePipelineLayout");

  std::vector<uint8_t> payload;
  if (std::string path = pipeline_cache_path(dev.info()); !path.empty()) {
    std::ifstream f(path, std::ios::binary);
    std::vector<uint8_t> file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    payload = pipeline_cache_payload(file, dev.info());
    if (!file.empty() && payload.empty())
      spdlog::info("[vulkan] pipeline cache {} is for another device, driver or glint version; rebuilding", path);
  }
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  ci.initialDataSize = payload.size();
  ci.pInitialData = payload.empty() ? nullptr : payload.data();
  if (vkCreatePipelineCache(dev.handle(), &ci, nullptr, &cache_) != VK_SUCCESS) {
    ci.initialDataSize = 0;  // the driver rejected the data: start empty
    ci.pInitialData = nullptr;
    GLINT_VK_CHECK(vkCreatePipelineCache(dev.handle(), &ci, nullptr, &cache_), "vkCreatePipelineCache");
  }
}

Pipelines::~Pipelines() {
  try {
    if (dirty_) save();
  } catch (const std::exception& e) {
    spdlog::warn("[vulkan] could not save the pipeline cache: {}", e.what());
  }
  for (auto& [key, p] : pipelines_) vkDestroyPipeline(dev_.handle(), p, nullptr);
  vkDestroyPipelineCache(dev_.handle(), cache_, nullptr);
  vkDestroyPipelineLayout(dev_.handle(), layout_, nullptr);
}

bool Pipelines::save() {
  std::string path = pipeline_cache_path(dev_.info());
  if (path.empty()) return false;
  size_t n = 0;
  GLINT_VK_CHECK(vkGetPipelineCacheData(dev_.handle(), cache_, &n, nullptr), "vkGetPipelineCacheData");
  std::vector<uint8_t> payload(n);
  GLINT_VK_CHECK(vkGetPipelineCacheData(dev_.handle(), cache_, &n, payload.data()), "vkGetPipelineCacheData");
  payload.resize(n);
  std::vector<uint8_t> file = pipeline_cache_file(payload, dev_.info());
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(dev_.index());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return false;
    f.write(reinterpret_cast<const char*>(file.data()), std::streamsize(file.size()));
    if (!f) return false;
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
  dirty_ = false;
  return !ec;
}

VkPipeline Pipelines::get(std::string_view shader, std::span<const uint32_t> spec) {
  auto key = std::make_pair(std::string(shader), std::vector<uint32_t>(spec.begin(), spec.end()));
  if (auto it = pipelines_.find(key); it != pipelines_.end()) return it->second;
  std::span<const uint32_t> words = find_shader(shader);
  VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  mi.codeSize = words.size() * sizeof(uint32_t);
  mi.pCode = words.data();
  VkShaderModule module;
  GLINT_VK_CHECK(vkCreateShaderModule(dev_.handle(), &mi, nullptr, &module), "vkCreateShaderModule");
  std::vector<VkSpecializationMapEntry> entries(spec.size());
  for (uint32_t i = 0; i < spec.size(); ++i) entries[i] = {i, i * 4u, 4};
  VkSpecializationInfo si{uint32_t(entries.size()), entries.data(), spec.size() * 4, spec.data()};
  VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = module;
  ci.stage.pName = "main";
  ci.stage.pSpecializationInfo = spec.empty() ? nullptr : &si;
  ci.layout = layout_;
  VkPipeline p;
  VkResult r = vkCreateComputePipelines(dev_.handle(), cache_, 1, &ci, nullptr, &p);
  vkDestroyShaderModule(dev_.handle(), module, nullptr);
  if (r != VK_SUCCESS) fail("vulkan", "creating the pipeline for shader '", shader, "' failed: ", vk_result_name(r));
  pipelines_.emplace(std::move(key), p);
  dirty_ = true;
  return p;
}

}  // namespace glint::vk
