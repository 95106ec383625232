// What the tiled GEMM-shaped kernels (matmul.comp, conv2d.comp's implicit GEMM) configure themselves from: the
// device's compute limits, read once per device, and the register-blocked tile shapes, largest first.
#pragma once
#include <cstdint>

namespace glint::vk {

class Device;

struct ComputeLimits {
  uint32_t max_threads;    // per workgroup along x (invocations and size[0] together)
  uint32_t max_shared;     // bytes of shared memory
  uint32_t subgroup;       // subgroup size (>= 1)
  uint32_t max_groups[3];  // workgroup count limits
};
// The limits of `dev`, cached.
const ComputeLimits& compute_limits(Device& dev);

// Tile shapes (the kernels' specialization constants). The last fits every Vulkan device (64 threads, 4.2 KiB of
// shared memory; the spec guarantees 128 and 16 KiB).
struct GemmTiles {
  uint32_t bm, bn, bk, tm, tn;
  uint32_t threads() const { return (bm / tm) * (bn / tn); }
  uint32_t shared_bytes() const { return bk * (bm + 1 + bn + 1) * 4; }
};
// The largest tiles that fit `lim` and still give an (m x n) problem repeated `batch` times enough workgroups to
// fill a GPU (fewer leave compute units idle), else the smallest.
GemmTiles pick_gemm_tiles(const ComputeLimits& lim, int64_t m, int64_t n, int64_t batch);

}  // namespace glint::vk
