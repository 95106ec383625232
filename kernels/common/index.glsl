// Work-item indexing: 1-D work spread over a 2-D grid (x is capped at 65535 groups on many GPUs),
// and strided offsets for up to 8 dimensions packed as uvec4 pairs in push constants.

uint linear_id() {
  return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
}

// Offset of logical element `i` (row-major over `shape`) in a tensor with `strides`; dims beyond ndim have size 1.
uint strided_offset(uint i, uvec4 shape_lo, uvec4 shape_hi, uvec4 stride_lo, uvec4 stride_hi) {
  uint off = 0;
  for (int d = 3; d >= 0; --d) { uint s = shape_hi[d]; off += (i % s) * stride_hi[d]; i /= s; }
  for (int d = 3; d >= 0; --d) { uint s = shape_lo[d]; off += (i % s) * stride_lo[d]; i /= s; }
  return off;
}
