// Row-wise kernels (reductions, softmax, norms): how a workgroup's threads share rows, and f32 reductions over the
// threads of one row. Include after dtype.glsl / index.glsl.
//
// COLS (specialization constant 1) picks the layout:
//   COLS == 1    a workgroup per row; its threads stride along the row (contiguous rows: coalesced) and combine
//                through subgroup operations and one shared slot per subgroup.
//   COLS > 1     COLS rows per workgroup, WG / COLS threads per row; thread t serves row t % COLS, so neighbouring
//                threads read neighbouring rows — coalesced when the reduced dim is the outer one in memory.
//                COLS == WG is a thread per row, for short rows.
// Every thread of a workgroup runs the same loops (inactive ones with empty ranges) so barriers stay uniform.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_vote : require

const uint WG = 256;
layout(local_size_x = 256) in;
layout(constant_id = 1) const uint COLS = 1;
const uint SLICES = WG / COLS;

const uint RED_SUM = 0;
const uint RED_MAX = 1;
const uint RED_MIN = 2;

#define NAN_F uintBitsToFloat(0x7fc00000u)
#define INF_F uintBitsToFloat(0x7f800000u)

uint group_index() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }
// Which of the workgroup's rows this thread serves, and where along the row it starts / how far it steps.
uint row_in_group() { return COLS == 1 ? 0 : gl_LocalInvocationID.x % COLS; }
uint row_lane() { return COLS == 1 ? gl_LocalInvocationID.x : gl_LocalInvocationID.x / COLS; }

// NaN-propagating max / min (torch semantics), plain sum.
float combine_f(float a, float b, uint op) {
  if (op == RED_SUM) return a + b;
  if (isnan(a) || isnan(b)) return NAN_F;
  return op == RED_MAX ? max(a, b) : min(a, b);
}
float identity_f(uint op) { return op == RED_SUM ? 0.0 : (op == RED_MAX ? -INF_F : INF_F); }

shared float rows_scratch[WG];

// The reduction of v over the threads serving this thread's row; every one of them gets the result.
// The fold order is fixed, so all threads (and all runs) see bit-identical values.
float row_reduce(float v, uint op) {
  if (COLS == 1) {
    float s = op == RED_SUM ? subgroupAdd(v) : (op == RED_MAX ? subgroupMax(v) : subgroupMin(v));
    // subgroupMax / subgroupMin leave NaN handling to the implementation.
    if (op != RED_SUM && subgroupAny(isnan(v))) s = NAN_F;
    if (subgroupElect()) rows_scratch[gl_SubgroupID] = s;
    barrier();
    float r = rows_scratch[0];
    for (uint i = 1; i < gl_NumSubgroups; ++i) r = combine_f(r, rows_scratch[i], op);
    barrier();
    return r;
  }
  if (SLICES == 1) return v;
  rows_scratch[gl_LocalInvocationID.x] = v;
  barrier();
  const uint c = row_in_group();
  float r = rows_scratch[c];
  for (uint s = 1; s < SLICES; ++s) r = combine_f(r, rows_scratch[s * COLS + c], op);
  barrier();
  return r;
}
