// variant: nonfinite_f32 DT=f32
// variant: nonfinite_f16 DT=f16
// variant: nonfinite_bf16 DT=bf16
#version 460
// found_inf = 1 when a contiguous tensor of dtype DT holds an inf or NaN; with kFlagUnscale the tensor is also
// multiplied by inv_scale in place. Every thread that sees one writes the same 1.0, so the race is harmless, and
// only one thread per subgroup does so.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_vote : require
#include "dtype.glsl"
#include "index.glsl"
layout(local_size_x = 256) in;

const uint kFlagUnscale = 1u;

layout(push_constant) uniform PC {  // mirrors NonfinitePC in runtime/vulkan/optim.cpp
  uint64_t x, found_inf;
  uint n, flags;
  float inv_scale;
} pc;

void main() {
  uint i = linear_id();
  bool bad = false;
  if (i < pc.n) {
    float v = CAT3(load_, DT, _f)(pc.x, i);
    bad = isinf(v) || isnan(v);
    if ((pc.flags & kFlagUnscale) != 0u) CAT3(store_, DT, _f)(pc.x, i, v * pc.inv_scale);
  }
  if (subgroupAny(bad) && subgroupElect()) BufF32(pc.found_inf).v[0] = 1.0;
}
