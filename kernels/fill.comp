// variant: fill_f32 DST=f32
// variant: fill_f16 DST=f16
// variant: fill_bf16 DST=bf16
// variant: fill_i32 DST=i32 INT=1
// variant: fill_i64 DST=i64 INT=1
// variant: fill_u8 DST=u8 INT=1
// variant: fill_i8 DST=i8 INT=1
#version 460
// dst[i] = value for a contiguous tensor; integer destinations take the exact int64 value.
#include "dtype.glsl"
#include "index.glsl"
layout(local_size_x = 256) in;

layout(push_constant) uniform PC {
  uint64_t dst;
  int64_t ivalue;
  float fvalue;
  uint n;
} pc;

void main() {
  uint i = linear_id();
  if (i >= pc.n) return;
#ifndef INT
  CAT3(store_, DST, _f)(pc.dst, i, pc.fvalue);
#else
  CAT3(store_, DST, _i)(pc.dst, i, pc.ivalue);
#endif
}
