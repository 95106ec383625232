// Embedded SPIR-V: each generated kernels/<variant>.cpp registers its words under the variant's name.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace glint::vk {

struct ShaderRegistration {
  ShaderRegistration(const char* name, const uint32_t* words, size_t count);
};

std::span<const uint32_t> find_shader(std::string_view name);  // throws "[vulkan] no shader named ..."
size_t shader_count();

}  // namespace glint::vk
