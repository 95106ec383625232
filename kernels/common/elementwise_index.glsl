// Indexing and wide access for the elementwise kernels (binary, unary, where).
//
// The host coalesces dims (merging those contiguous for every operand, dropping size-1 dims), so most broadcasts
// reach the shader as 1-3 dims, right-aligned in the 8-dim packing of index.glsl; the walk below visits only those
// `ndim` dims and computes each coordinate once for all operands. One dim with unit strides is the contiguous case:
// no division at all.
//
// The *4 functions move elements 4g..4g+3 of a contiguous tensor in one access; the host uses them only when every
// address is aligned to 4 elements.

uint dim8(uvec4 lo, uvec4 hi, uint d) { return d < 4 ? lo[d] : hi[d - 4]; }

// Offsets of logical element i in operands a and b (strides in elements) over the ndim innermost dims of `shape`.
// The outermost walked dim needs no modulo: i < numel.
uvec2 strided_offsets2(uint i, uint ndim, uvec4 shape_lo, uvec4 shape_hi, uvec4 a_lo, uvec4 a_hi, uvec4 b_lo,
                       uvec4 b_hi) {
  uvec2 off = uvec2(0);
  uint first = 8 - ndim;
  for (uint d = 7; d > first; --d) {
    uint s = dim8(shape_lo, shape_hi, d);
    uint c = i % s;
    i /= s;
    off += c * uvec2(dim8(a_lo, a_hi, d), dim8(b_lo, b_hi, d));
  }
  return off + i * uvec2(dim8(a_lo, a_hi, first), dim8(b_lo, b_hi, first));
}

layout(buffer_reference, std430, buffer_reference_align = 8) buffer BufUvec2 { uvec2 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) buffer BufUvec4 { uvec4 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer BufUint { uint v[]; };

vec4 load4_f32(uint64_t a, uint g) { return uintBitsToFloat(BufUvec4(a).v[g]); }
vec4 load4_f16(uint64_t a, uint g) {
  uvec2 u = BufUvec2(a).v[g];
  return vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y));
}
vec4 load4_bf16(uint64_t a, uint g) {
  uvec2 u = BufUvec2(a).v[g];
  return uintBitsToFloat(uvec4(u.x << 16, u.x & 0xffff0000u, u.y << 16, u.y & 0xffff0000u));
}

void store4_f32(uint64_t a, uint g, vec4 x) { BufUvec4(a).v[g] = floatBitsToUint(x); }
void store4_f16(uint64_t a, uint g, vec4 x) { BufUvec2(a).v[g] = uvec2(packHalf2x16(x.xy), packHalf2x16(x.zw)); }
void store4_bf16(uint64_t a, uint g, vec4 x) {
  uint b0 = uint(float_to_bf16_bits(x.x)), b1 = uint(float_to_bf16_bits(x.y));
  uint b2 = uint(float_to_bf16_bits(x.z)), b3 = uint(float_to_bf16_bits(x.w));
  BufUvec2(a).v[g] = uvec2(b0 | (b1 << 16), b2 | (b3 << 16));
}
// Four u8 flags (0 / 1), e.g. comparison results.
void store4_u8(uint64_t a, uint g, bvec4 x) {
  uvec4 u = uvec4(x);
  BufUint(a).v[g] = u.x | (u.y << 8) | (u.z << 16) | (u.w << 24);
}
