// Helpers of the indexing kernels (gather, scatter_add, topk): element counts and paired strided offsets of the
// packed 8-dim shapes of index.glsl.

uint dims_numel(uvec4 shape_lo, uvec4 shape_hi) {
  uvec4 p = shape_lo * shape_hi;
  return p.x * p.y * p.z * p.w;
}

// strided_offset() for two tensors walking the same shape, sharing the divisions.
uvec2 strided_offset2(uint i, uvec4 shape_lo, uvec4 shape_hi, uvec4 a_lo, uvec4 a_hi, uvec4 b_lo, uvec4 b_hi) {
  uvec2 off = uvec2(0);
  for (int d = 3; d >= 0; --d) {
    uint s = shape_hi[d], c = i % s;
    off += c * uvec2(a_hi[d], b_hi[d]);
    i /= s;
  }
  for (int d = 3; d >= 0; --d) {
    uint s = shape_lo[d], c = i % s;
    off += c * uvec2(a_lo[d], b_lo[d]);
    i /= s;
  }
  return off;
}
