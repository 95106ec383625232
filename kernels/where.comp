// variant: where_u8 W=8
// variant: where_u16 W=16
// variant: where_u32 W=32
// variant: where_u64 W=64
#version 460
// out = cond ? a : b, broadcasting all three. Elements move as W-bit words (any dtype of that size; NaN payloads and
// -0.0 survive). cond is u8, nonzero = true. Four operands' strides for 8 dims would not fit in 128 bytes of push
// constants, so the host coalesces to at most 4 dims (making operands contiguous in the rare case it cannot).
// Mirrors WherePC in runtime/vulkan/elementwise.cpp.
#include "dtype.glsl"
#include "index.glsl"
layout(local_size_x = 256) in;

layout(push_constant) uniform PC {
  uint64_t cond;
  uint64_t a;
  uint64_t b;
  uint64_t out_;
  uvec4 shape;  // coalesced dims, right-aligned
  uvec4 cond_stride;
  uvec4 a_stride;
  uvec4 b_stride;
  uint n;
  uint ndim;
} pc;

#if W == 8
#define MOVE(src, i, dst, j) BufU8(dst).v[j] = BufU8(src).v[i]
#elif W == 16
#define MOVE(src, i, dst, j) BufU16(dst).v[j] = BufU16(src).v[i]
#elif W == 32
#define MOVE(src, i, dst, j) BufI32(dst).v[j] = BufI32(src).v[i]
#else
#define MOVE(src, i, dst, j) BufI64(dst).v[j] = BufI64(src).v[i]
#endif

void main() {
  uint i = linear_id();
  if (i >= pc.n) return;
  uvec3 off = uvec3(0);  // cond, a, b
  uint rem = i;
  uint first = 4 - pc.ndim;
  for (uint d = 3; d > first; --d) {
    uint c = rem % pc.shape[d];
    rem /= pc.shape[d];
    off += c * uvec3(pc.cond_stride[d], pc.a_stride[d], pc.b_stride[d]);
  }
  off += rem * uvec3(pc.cond_stride[first], pc.a_stride[first], pc.b_stride[first]);
  if (uint(BufU8(pc.cond).v[off.x]) != 0) MOVE(pc.a, off.y, pc.out_, i);
  else MOVE(pc.b, off.z, pc.out_, i);
}
