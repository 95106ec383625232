// What a Vulkan kernel needs: a tensor's device address, a grid, and dispatch() of an embedded shader with its
// typed push constants. Reads and writes are declared so the command stream inserts barriers only where needed.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <type_traits>

#include "runtime/core/tensor.h"

namespace glint::vk {

class Device;

inline constexpr uint32_t kMaxPushConstantBytes = 128;

struct Grid {
  uint32_t x = 1, y = 1, z = 1;
};
// Enough groups of `local_size` to cover `items`, spread over x and y (see linear_id() in index.glsl).
Grid grid_1d(uint64_t items, uint32_t local_size);

Device& device_of(const Tensor& t);
// Device address of element [0,...,0] of t (offset included).
uint64_t address(const Tensor& t);

void dispatch_raw(Device& dev, std::string_view shader, const void* push, uint32_t push_bytes, Grid grid,
                  std::initializer_list<Tensor> reads, std::initializer_list<Tensor> writes,
                  std::initializer_list<uint32_t> spec_constants);

// Records one dispatch of `shader` on the device of the first written tensor.
template <class PC>
void dispatch(std::string_view shader, const PC& pc, Grid grid, std::initializer_list<Tensor> reads,
              std::initializer_list<Tensor> writes, std::initializer_list<uint32_t> spec_constants = {}) {
  static_assert(std::is_trivially_copyable_v<PC> && sizeof(PC) <= kMaxPushConstantBytes);
  dispatch_raw(device_of(*writes.begin()), shader, &pc, sizeof(PC), grid, reads, writes, spec_constants);
}

// Packs up to 8 dims into the two uvec4 of index.glsl (leading dims padded with size 1 / stride 0). Aligned like
// a GLSL uvec4 (16 bytes), so a push-constant struct that holds one matches the shader's layout.
struct alignas(16) Dims8 {
  uint32_t v[8];
};
Dims8 pack_dims(const Shape& values, int64_t pad);

}  // namespace glint::vk
