// Shared by the 4-bit kernels (dequantize_4bit.comp, linear_4bit.comp, linear_4bit_matvec.comp): the push
// constants (mirrored by Quant4Params in runtime/vulkan/quant.cpp) and the reads of a bitsandbytes 4-bit weight.
//
// The weight is flat: element i is nibble i of `w` (the high nibble of byte i / 2 first), scaled by the absmax of
// block i / blocksize. With double quantisation (nested != 0) that absmax is u8, undone as bitsandbytes does:
// nested_code[q] * nested_absmax[b / nested_blocksize], rounded, then + offset, rounded.
layout(push_constant) uniform PC {
  uint64_t x, w, absmax, nested_absmax, nested_code, code, bias, y;
  uint M, N, K, blocksize;
  uint nested_blocksize, nested;
  float offset;
  uint fp4;  // FP4 code 8 is decoded as -0, as bitsandbytes does, whatever the table holds
} pc;

layout(buffer_reference, std430, buffer_reference_align = 4) buffer BufU32 { uint v[]; };

shared float code_s[16];

// Stages the 16-entry code table in shared memory; every invocation must call it, in uniform control flow.
void load_code() {
  const uint i = gl_LocalInvocationIndex;
  if (i < 16) code_s[i] = pc.fp4 != 0 && i == 8 ? -0.0 : BufF32(pc.code).v[i];
  barrier();
}

// The f32 absmax of block b. `precise` keeps the two roundings bitsandbytes does (no fused multiply-add).
float block_scale(uint b) {
  if (pc.nested == 0) return BufF32(pc.absmax).v[b];
  precise float s = BufF32(pc.nested_code).v[uint(BufU8(pc.absmax).v[b])] *
                    BufF32(pc.nested_absmax).v[b / pc.nested_blocksize];
  precise float r = s + pc.offset;
  return r;
}

// The code index of flat element i.
uint nibble(uint i) {
  const uint byte = uint(BufU8(pc.w).v[i >> 1]);
  return (i & 1u) != 0u ? byte & 15u : byte >> 4;
}

// The dequantised value of flat element i.
float weight_at(uint i) { return code_s[nibble(i)] * block_scale(i / pc.blocksize); }
