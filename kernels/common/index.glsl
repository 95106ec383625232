// Work-item indexing: 1-D work spread over a 2-D grid (x is capped at 65535 groups on many GPUs),
// and strided offsets for up to 8 dimensions packed as uvec4 pairs in push constants.

// A macro, not a function: gl_WorkGroupSize is only known after the shader's `layout(local_size_x = ...) in;`, and a
// function defined in this header before that line would silently see a size of 1.
#define linear_id() \
  ((gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x + gl_LocalInvocationID.x)

// Offset of logical element `i` (row-major over `shape`) in a tensor with `strides`; dims beyond ndim have size 1.
uint strided_offset(uint i, uvec4 shape_lo, uvec4 shape_hi, uvec4 stride_lo, uvec4 stride_hi) {
  uint off = 0;
  for (int d = 3; d >= 0; --d) { uint s = shape_hi[d]; off += (i % s) * stride_hi[d]; i /= s; }
  for (int d = 3; d >= 0; --d) { uint s = shape_lo[d]; off += (i % s) * stride_lo[d]; i /= s; }
  return off;
}
