// variant: scatter_add_f32_i32 SRC=f32 IDX=i32 INT_ACC=0
// variant: scatter_add_f32_i64 SRC=f32 IDX=i64 INT_ACC=0
// variant: scatter_add_f16_i32 SRC=f16 IDX=i32 INT_ACC=0
// variant: scatter_add_f16_i64 SRC=f16 IDX=i64 INT_ACC=0
// variant: scatter_add_bf16_i32 SRC=bf16 IDX=i32 INT_ACC=0
// variant: scatter_add_bf16_i64 SRC=bf16 IDX=i64 INT_ACC=0
// variant: scatter_add_i32_i32 SRC=i32 IDX=i32 INT_ACC=1
// variant: scatter_add_i32_i64 SRC=i32 IDX=i64 INT_ACC=1
#version 460
// acc[p with its dim coordinate set to idx[p]] += src[p] for every position p of idx (runtime/ops/indexing.h,
// scatter_add_kernel). acc is f32 (float sources) or i32 and contiguous; idx is contiguous; src is strided.
//
// One invocation per update, resolved with atomics because indices may repeat. f32 adds are a compare-and-swap loop
// on the value's bits: core Vulkan, unlike atomicAdd(float) (VK_EXT_shader_atomic_float, which the device is not
// created with and many GPUs lack). The sum is exact up to f32 rounding but its order, and so its last bits, may
// vary between runs where an index repeats (as with torch's CUDA scatter_add). i32 adds are exact.
#include "dtype.glsl"
#include "index.glsl"
#include "indexing_util.glsl"
layout(local_size_x = 256) in;

layout(push_constant) uniform PC {
  uint64_t acc;
  uint64_t idx;
  uint64_t src;
  uint bound;   // acc.shape[dim]
  uint stride;  // acc.stride(dim)
  uvec4 shape_lo, shape_hi;            // idx's shape
  uvec4 acc_stride_lo, acc_stride_hi;  // acc's strides, 0 along dim
  uvec4 src_stride_lo, src_stride_hi;
} pc;

#define LOAD_IDX CAT3(load_, IDX, _i)
#define LOAD_SRC CAT3(load_, SRC, _f)

void main() {
  uint i = linear_id();
  if (i >= dims_numel(pc.shape_lo, pc.shape_hi)) return;
  int64_t t = LOAD_IDX(pc.idx, i);
  if (t < 0 || t >= int64_t(pc.bound)) return;  // only device-side indices can be out of range (see indexing.h)
  uvec2 off = strided_offset2(i, pc.shape_lo, pc.shape_hi, pc.acc_stride_lo, pc.acc_stride_hi, pc.src_stride_lo,
                              pc.src_stride_hi);
  uint dst = off.x + uint(t) * pc.stride;
#if INT_ACC
  atomicAdd(BufI32(pc.acc).v[dst], BufI32(pc.src).v[off.y]);
#else
  float v = LOAD_SRC(pc.src, off.y);
  int seen = BufI32(pc.acc).v[dst];
  while (true) {
    int prev = atomicCompSwap(BufI32(pc.acc).v[dst], seen, floatBitsToInt(intBitsToFloat(seen) + v));
    if (prev == seen) break;
    seen = prev;
  }
#endif
}
