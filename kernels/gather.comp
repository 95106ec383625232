// variant: gather_u8_i32 ELEM=uint8_t BUF=BufU8 IDX=i32
// variant: gather_u8_i64 ELEM=uint8_t BUF=BufU8 IDX=i64
// variant: gather_u16_i32 ELEM=uint16_t BUF=BufU16 IDX=i32
// variant: gather_u16_i64 ELEM=uint16_t BUF=BufU16 IDX=i64
// variant: gather_u32_i32 ELEM=int BUF=BufI32 IDX=i32
// variant: gather_u32_i64 ELEM=int BUF=BufI32 IDX=i64
// variant: gather_u64_i32 ELEM=int64_t BUF=BufI64 IDX=i32
// variant: gather_u64_i64 ELEM=int64_t BUF=BufI64 IDX=i64
#version 460
// out[i] = the element idx[p] * stride past base[p], p the i-th position of out's shape (row-major), or 0 when
// idx[p] is outside [0, bound): embedding, index_select and gather (runtime/ops/indexing.h, gather_kernel).
// Elements are moved as raw bits, so variants go by element width (u8..u64 = 1..8 bytes, any dtype of that size)
// and index dtype. One invocation per output element: consecutive invocations write consecutive outputs and, for an
// embedding row, read consecutive weights.
#include "dtype.glsl"
#include "index.glsl"
#include "indexing_util.glsl"
layout(local_size_x = 256) in;

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t idx;
  uint64_t out_;
  uint bound;
  uint stride;
  uvec4 shape_lo, shape_hi;
  uvec4 base_stride_lo, base_stride_hi;
  uvec4 idx_stride_lo, idx_stride_hi;
} pc;

#define LOAD_IDX CAT3(load_, IDX, _i)

void main() {
  uint i = linear_id();
  if (i >= dims_numel(pc.shape_lo, pc.shape_hi)) return;
  uvec2 off = strided_offset2(i, pc.shape_lo, pc.shape_hi, pc.base_stride_lo, pc.base_stride_hi, pc.idx_stride_lo,
                              pc.idx_stride_hi);
  int64_t t = LOAD_IDX(pc.idx, off.y);
  // Out-of-range indices (only possible for indices that lived on the device, see indexing.h) read nothing.
  ELEM v = ELEM(0);
  if (t >= 0 && t < int64_t(pc.bound)) v = BUF(pc.base).v[off.x + uint(t) * pc.stride];
  BUF(pc.out_).v[i] = v;
}
