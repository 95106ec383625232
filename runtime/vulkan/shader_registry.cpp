#include "runtime/vulkan/shader_registry.h"

#include <string>
#include <unordered_map>

#include "runtime/core/error.h"

namespace glint::vk {
namespace {
std::unordered_map<std::string_view, std::span<const uint32_t>>& registry() {
  static std::unordered_map<std::string_view, std::span<const uint32_t>> r;
  return r;
}
}  // namespace

ShaderRegistration::ShaderRegistration(const char* name, const uint32_t* words, size_t count) {
  registry()[name] = {words, count};
}

std::span<const uint32_t> find_shader(std::string_view name) {
  auto it = registry().find(name);
  if (it == registry().end()) fail("vulkan", "no shader named '", name, "' is embedded in this build");
  return it->second;
}

size_t shader_count() { return registry().size(); }

}  // namespace glint::vk
