// Compute pipelines, built lazily from embedded SPIR-V and cached per (shader, specialization constants). All
// pipelines share one layout: no descriptor sets (tensors travel as buffer device addresses) and a 128-byte push
// constant range. The driver's VkPipelineCache persists on disk and is rejected when the device, the driver or the
// glint version changes.
#pragma once
#include <vulkan/vulkan.h>

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace glint::vk {

class Device;
struct PhysicalDeviceInfo;

// The cache file for a physical device: $GLINT_CACHE_DIR, else $XDG_CACHE_HOME/glint, else $HOME/.cache/glint.
// Empty when none of these is set.
std::string pipeline_cache_path(const PhysicalDeviceInfo& info);
// The bytes to hand to vkCreatePipelineCache from a cache file's contents, or empty when the file was written for
// another device, driver or glint version (or is damaged).
std::vector<uint8_t> pipeline_cache_payload(const std::vector<uint8_t>& file, const PhysicalDeviceInfo& info);
// A cache file's contents: glint's header followed by the driver's data.
std::vector<uint8_t> pipeline_cache_file(const std::vector<uint8_t>& payload, const PhysicalDeviceInfo& info);

class Pipelines {
 public:
  explicit Pipelines(Device& dev);
  ~Pipelines();  // saves the pipeline cache
  VkPipeline get(std::string_view shader, std::span<const uint32_t> spec_constants);
  VkPipelineLayout layout() const { return layout_; }
  // Writes the cache file now (atomically: temp file + rename). Returns false when there is nowhere to write.
  bool save();
  size_t size() const { return pipelines_.size(); }

 private:
  Device& dev_;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  std::map<std::pair<std::string, std::vector<uint32_t>>, VkPipeline, std::less<>> pipelines_;
  bool dirty_ = false;
};

}  // namespace glint::vk
