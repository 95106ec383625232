// Shared by matmul.comp and matvec.comp: the push constants (mirrored by GemmParams in runtime/vulkan/matmul.cpp),
// per-batch base addresses and typed loads. Requires DT (f32, f16, bf16) and ELEM (its size in bytes).
//
// Matrices are addressed by element strides: a[m, k] = a + m*a_rs + k*a_cs, b[k, n] = b + k*b_rs + n*b_cs,
// c[m, n] = c + m*c_rs + n*c_cs, bias[m, n] = bias + m*bias_rs + n*bias_cs (bias == 0: none). Batch dims
// (coalesced, at most 4, left-padded with size 1) select the matrices; gl_WorkGroupID.z is the flat batch index.
layout(push_constant) uniform PC {
  uint64_t a, b, c, bias;
  uvec4 batch_shape;
  uvec4 a_batch_stride;
  uvec4 b_batch_stride;
  uint M, N, K, c_batch_stride;
  uint a_rs, a_cs, b_rs, b_cs;
  uint c_rs, c_cs, bias_rs, bias_cs;
} pc;

#define LOAD CAT3(load_, DT, _f)
#define STORE CAT3(store_, DT, _f)
#define LOAD4 CAT2(load4_, DT)

// Four consecutive elements starting at i (a multiple of 4) from an address aligned to 4 elements.
layout(buffer_reference, std430, buffer_reference_align = 8) buffer BufU16x4 { uvec2 v[]; };
vec4 load4_f32(uint64_t a, uint i) { return BufVec4(a).v[i >> 2]; }
vec4 load4_f16(uint64_t a, uint i) {
  uvec2 u = BufU16x4(a).v[i >> 2];
  return vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y));
}
vec4 load4_bf16(uint64_t a, uint i) {
  uvec2 u = BufU16x4(a).v[i >> 2];
  return vec4(uintBitsToFloat(u.x << 16), uintBitsToFloat(u.x & 0xffff0000u), uintBitsToFloat(u.y << 16),
              uintBitsToFloat(u.y & 0xffff0000u));
}

// Base addresses of this workgroup's matrices of a, b and c. Offsets are widened to 64 bits before scaling so that a
// batch may span more than 4 Gi bytes.
void batch_bases(out uint64_t A, out uint64_t B, out uint64_t C) {
  uint z = gl_WorkGroupID.z;
  uint64_t oa = 0, ob = 0;
  for (int d = 3; d >= 0; --d) {
    uint s = pc.batch_shape[d];
    uint i = z % s;
    z /= s;
    oa += uint64_t(i) * pc.a_batch_stride[d];
    ob += uint64_t(i) * pc.b_batch_stride[d];
  }
  A = pc.a + oa * ELEM;
  B = pc.b + ob * ELEM;
  C = pc.c + uint64_t(gl_WorkGroupID.z) * pc.c_batch_stride * ELEM;
}

float bias_at(uint m, uint n) { return pc.bias == 0 ? 0.0 : LOAD(pc.bias, m * pc.bias_rs + n * pc.bias_cs); }
