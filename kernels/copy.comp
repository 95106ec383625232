// variant: copy_f32_f32 SRC=f32 DST=f32 VIA=f
// variant: copy_f32_f16 SRC=f32 DST=f16 VIA=f
// variant: copy_f32_bf16 SRC=f32 DST=bf16 VIA=f
// variant: copy_f32_i32 SRC=f32 DST=i32 VIA=i
// variant: copy_f32_i64 SRC=f32 DST=i64 VIA=i
// variant: copy_f32_u8 SRC=f32 DST=u8 VIA=i
// variant: copy_f32_i8 SRC=f32 DST=i8 VIA=i
// variant: copy_f16_f32 SRC=f16 DST=f32 VIA=f
// variant: copy_f16_f16 SRC=f16 DST=f16 VIA=f
// variant: copy_f16_bf16 SRC=f16 DST=bf16 VIA=f
// variant: copy_f16_i32 SRC=f16 DST=i32 VIA=i
// variant: copy_f16_i64 SRC=f16 DST=i64 VIA=i
// variant: copy_f16_u8 SRC=f16 DST=u8 VIA=i
// variant: copy_f16_i8 SRC=f16 DST=i8 VIA=i
// variant: copy_bf16_f32 SRC=bf16 DST=f32 VIA=f
// variant: copy_bf16_f16 SRC=bf16 DST=f16 VIA=f
// variant: copy_bf16_bf16 SRC=bf16 DST=bf16 VIA=f
// variant: copy_bf16_i32 SRC=bf16 DST=i32 VIA=i
// variant: copy_bf16_i64 SRC=bf16 DST=i64 VIA=i
// variant: copy_bf16_u8 SRC=bf16 DST=u8 VIA=i
// variant: copy_bf16_i8 SRC=bf16 DST=i8 VIA=i
// variant: copy_i32_f32 SRC=i32 DST=f32 VIA=f
// variant: copy_i32_f16 SRC=i32 DST=f16 VIA=f
// variant: copy_i32_bf16 SRC=i32 DST=bf16 VIA=f
// variant: copy_i32_i32 SRC=i32 DST=i32 VIA=i
// variant: copy_i32_i64 SRC=i32 DST=i64 VIA=i
// variant: copy_i32_u8 SRC=i32 DST=u8 VIA=i
// variant: copy_i32_i8 SRC=i32 DST=i8 VIA=i
// variant: copy_i64_f32 SRC=i64 DST=f32 VIA=f
// variant: copy_i64_f16 SRC=i64 DST=f16 VIA=f
// variant: copy_i64_bf16 SRC=i64 DST=bf16 VIA=f
// variant: copy_i64_i32 SRC=i64 DST=i32 VIA=i
// variant: copy_i64_i64 SRC=i64 DST=i64 VIA=i
// variant: copy_i64_u8 SRC=i64 DST=u8 VIA=i
// variant: copy_i64_i8 SRC=i64 DST=i8 VIA=i
// variant: copy_u8_f32 SRC=u8 DST=f32 VIA=f
// variant: copy_u8_f16 SRC=u8 DST=f16 VIA=f
// variant: copy_u8_bf16 SRC=u8 DST=bf16 VIA=f
// variant: copy_u8_i32 SRC=u8 DST=i32 VIA=i
// variant: copy_u8_i64 SRC=u8 DST=i64 VIA=i
// variant: copy_u8_u8 SRC=u8 DST=u8 VIA=i
// variant: copy_u8_i8 SRC=u8 DST=i8 VIA=i
// variant: copy_i8_f32 SRC=i8 DST=f32 VIA=f
// variant: copy_i8_f16 SRC=i8 DST=f16 VIA=f
// variant: copy_i8_bf16 SRC=i8 DST=bf16 VIA=f
// variant: copy_i8_i32 SRC=i8 DST=i32 VIA=i
// variant: copy_i8_i64 SRC=i8 DST=i64 VIA=i
// variant: copy_i8_u8 SRC=i8 DST=u8 VIA=i
// variant: copy_i8_i8 SRC=i8 DST=i8 VIA=i
#version 460
// Strided copy with dtype conversion: dst[view] = cast(src[view]) for up to 8 dims (shapes/strides in elements).
// Integer destinations convert through int64 (exact); float destinations through float.
#include "dtype.glsl"
#include "index.glsl"
layout(local_size_x = 256) in;

layout(push_constant) uniform PC {
  uint64_t src;
  uint64_t dst;
  uint n;
  uint pad_;
  uvec4 shape_lo, shape_hi;
  uvec4 src_stride_lo, src_stride_hi;
  uvec4 dst_stride_lo, dst_stride_hi;
} pc;

#define LOAD CAT3(load_, SRC, CAT2(_, VIA))
#define STORE CAT3(store_, DST, CAT2(_, VIA))

void main() {
  uint i = linear_id();
  if (i >= pc.n) return;
  uint s = strided_offset(i, pc.shape_lo, pc.shape_hi, pc.src_stride_lo, pc.src_stride_hi);
  uint d = strided_offset(i, pc.shape_lo, pc.shape_hi, pc.dst_stride_lo, pc.dst_stride_hi);
  STORE(pc.dst, d, LOAD(pc.src, s));
}
