// variant: topk_f32 DT=f32
// variant: topk_f16 DT=f16
// variant: topk_bf16 DT=bf16
#version 460
// Top-k along one dim (runtime/ops/indexing.h, topk_kernel): one workgroup per row, any row length, k <= KMAX.
//
// Each element gets a 64-bit key whose descending order is topk's order (see key()): value bits made orderable in
// the high word, the inverted index in the low word. Keys are distinct, so the k-th largest key T is unique and the
// answer is exactly the elements with key >= T. T is found by radix select, 8 bits per pass from the top: each pass
// histograms the keys that share the prefix chosen so far (256 shared-memory bins, one per invocation), a suffix scan
// of the bins picks the bin holding the k-th key, and the pass loop stops as soon as that bin holds exactly the keys
// still needed (random floats: 2-4 passes; ties such as -inf-masked logits continue into the index bits). A last
// pass collects the k keys into shared memory, a bitonic sort orders them, and the values are re-read by index.
// Every pass streams the row from global memory; nothing is limited by the row length.
#include "dtype.glsl"
#include "index.glsl"
layout(local_size_x = 256) in;
const uint BINS = 256;  // == local size: one bin per invocation
const uint KMAX = 1024; // kTopkMaxK in indexing.h; 8 KiB of shared keys

layout(constant_id = 0) const uint LARGEST = 1;

layout(push_constant) uniform PC {
  uint64_t x;
  uint64_t values;
  uint64_t indices;
  uint rows;
  uint row_len;
  uint k;
  uint x_stride;  // x.stride(dim)
  uint inner;     // product of the output's dims after dim (its stride along dim; outputs are contiguous)
  uint pad_;
  uvec4 outer_lo, outer_hi;          // x's shape without dim
  uvec4 outer_stride_lo, outer_stride_hi;  // x's strides without dim
} pc;

#define LOAD CAT3(load_, DT, _f)
#define STORE CAT3(store_, DT, _f)

shared uint hist[BINS];
shared uint suffix[BINS];
shared uint chosen_bin, chosen_above, taken;
shared uint64_t cand[KMAX];

// Same key as topk_key() in runtime/cpu/indexing.cpp.
uint64_t key(uint base, uint j) {
  float v = LOAD(pc.x, base + j * pc.x_stride);
  uint u = floatBitsToUint(v);
  if ((u & 0x7fffffffu) > 0x7f800000u) u = 0xffffffffu;  // NaN above +inf
  else u = (u & 0x7fffffffu) == 0u ? 0x80000000u : (u & 0x80000000u) != 0u ? ~u : u | 0x80000000u;
  if (LARGEST == 0) u = ~u;
  return (uint64_t(u) << 32) | uint64_t(~j);
}

void main() {
  uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (row >= pc.rows) return;  // whole workgroups only, before any barrier
  uint t = gl_LocalInvocationID.x;
  uint base = strided_offset(row, pc.outer_lo, pc.outer_hi, pc.outer_stride_lo, pc.outer_stride_hi);

  // Radix select of the k-th largest key.
  uint need = pc.k;     // keys still to take among those matching prefix
  uint64_t prefix = 0;  // high bits chosen so far
  int shift = 64;
  for (int pass = 0; pass < 8; ++pass) {
    shift -= 8;
    hist[t] = 0;
    barrier();
    for (uint j = t; j < pc.row_len; j += BINS) {
      uint64_t c = key(base, j);
      if (pass == 0 || (c >> (shift + 8)) == prefix) atomicAdd(hist[uint(c >> shift) & 0xffu], 1u);
    }
    barrier();
    // suffix[t] = keys in bins >= 255 - t, by a Hillis-Steele scan over the bins in descending order.
    suffix[t] = hist[BINS - 1 - t];
    barrier();
    for (uint d = 1; d < BINS; d <<= 1) {
      uint s = suffix[t] + (t >= d ? suffix[t - d] : 0u);
      barrier();
      suffix[t] = s;
      barrier();
    }
    uint b = BINS - 1 - t, above = suffix[t] - hist[b];
    if (above < need && suffix[t] >= need) {
      chosen_bin = b;
      chosen_above = above;
    }
    barrier();
    b = chosen_bin;
    need -= chosen_above;
    prefix = (prefix << 8) | uint64_t(b);
    bool done = hist[b] == need;  // the whole bin is taken: no need to split it further
    barrier();                    // everyone has read hist before the next pass clears it
    if (done) break;
  }
  uint64_t threshold = prefix << shift;

  // Collect the k keys >= threshold (in any order) and sort them descending.
  if (t == 0) taken = 0;
  uint m = 1;
  while (m < pc.k) m <<= 1;
  for (uint i = pc.k + t; i < m; i += BINS) cand[i] = 0;  // padding sorts last
  barrier();
  for (uint j = t; j < pc.row_len; j += BINS) {
    uint64_t c = key(base, j);
    if (c >= threshold) cand[atomicAdd(taken, 1u)] = c;
  }
  barrier();
  for (uint size = 2; size <= m; size <<= 1) {
    for (uint stride = size >> 1; stride > 0; stride >>= 1) {
      for (uint i = t; i < m / 2; i += BINS) {
        uint lo = 2 * i - (i & (stride - 1)), hi = lo + stride;
        uint64_t a = cand[lo], c = cand[hi];
        if ((a < c) == ((lo & size) == 0)) {  // descending runs where (lo & size) == 0
          cand[lo] = c;
          cand[hi] = a;
        }
      }
      barrier();
    }
  }

  uint out_base = (row / pc.inner) * pc.k * pc.inner + row % pc.inner;
  for (uint i = t; i < pc.k; i += BINS) {
    uint j = ~uint(cand[i] & 0xffffffffu);
    uint o = out_base + i * pc.inner;
    STORE(pc.values, o, LOAD(pc.x, base + j * pc.x_stride));
    BufI64(pc.indices).v[o] = int64_t(j);
  }
}
