// variant: upsample_nearest_f32 DT=f32
// variant: upsample_nearest_f16 DT=f16
// variant: upsample_nearest_bf16 DT=bf16
#version 460
// Nearest-neighbour resize of contiguous (planes, H, W) images to (planes, OH, OW), as torch's mode="nearest":
// output row i reads input row min(floor(i * scale_h), H - 1), scale_h = H / OH in f32 (likewise columns).
//   BACKWARD 0  one thread per output pixel copies its source pixel
//   BACKWARD 1  one thread per input pixel sums, in f32, the output pixels that copied it: a gather, so no atomics.
#include "dtype.glsl"
#include "index.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const uint BACKWARD = 0;

layout(push_constant) uniform PC {  // mirrored by UpsamplePC in runtime/vulkan/conv.cpp
  uint64_t src, dst;                // forward: x -> y; backward: dy -> dx
  uint planes, H, W, OH, OW;
  float scale_h, scale_w;
} pc;

#define LOAD CAT3(load_, DT, _f)
#define STORE CAT3(store_, DT, _f)

uint source(uint i, float scale, uint n_in) { return min(uint(float(i) * scale), n_in - 1); }

// The first output index whose source is >= s (sources are non-decreasing in the output index).
uint first_reading(uint s, float scale, uint n_in, uint n_out) {
  uint lo = 0, hi = n_out;
  while (lo < hi) {
    const uint mid = (lo + hi) / 2;
    if (source(mid, scale, n_in) < s) lo = mid + 1; else hi = mid;
  }
  return lo;
}

void main() {
  const uint i = linear_id();
  if (BACKWARD == 0) {
    if (i >= pc.planes * pc.OH * pc.OW) return;
    const uint plane = i / (pc.OH * pc.OW), r = i % (pc.OH * pc.OW);
    const uint sh = source(r / pc.OW, pc.scale_h, pc.H), sw = source(r % pc.OW, pc.scale_w, pc.W);
    STORE(pc.dst, i, LOAD(pc.src, (plane * pc.H + sh) * pc.W + sw));
    return;
  }
  if (i >= pc.planes * pc.H * pc.W) return;
  const uint plane = i / (pc.H * pc.W), r = i % (pc.H * pc.W), sh = r / pc.W, sw = r % pc.W;
  const uint j0 = first_reading(sw, pc.scale_w, pc.W, pc.OW);
  float sum = 0.0;
  for (uint oi = first_reading(sh, pc.scale_h, pc.H, pc.OH); oi < pc.OH && source(oi, pc.scale_h, pc.H) == sh; ++oi)
    for (uint oj = j0; oj < pc.OW && source(oj, pc.scale_w, pc.W) == sw; ++oj)
      sum += LOAD(pc.src, (plane * pc.OH + oi) * pc.OW + oj);
  STORE(pc.dst, i, sum);
}
