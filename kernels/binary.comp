// variant: binary_f32 DT=f32 FLOAT=1
// variant: binary_f16 DT=f16 FLOAT=1
// variant: binary_bf16 DT=bf16 FLOAT=1
// variant: binary_i32 DT=i32 FLOAT=0
// variant: binary_i64 DT=i64 FLOAT=0
// variant: binary_u8 DT=u8 FLOAT=0
// variant: binary_i8 DT=i8 FLOAT=0
#version 460
// out = a OP b with broadcasting (stride-0 dims), or a OP scalar. Floating dtypes compute in f32, integers in int64
// (wrapping on store). Comparisons write u8. Mirrors BinaryPC in runtime/vulkan/elementwise.cpp and the BinaryOp
// codes of runtime/ops/elementwise.h.
#include "dtype.glsl"
#include "index.glsl"
#include "elementwise_index.glsl"
#include "elementwise_math.glsl"
#include "exact_fma.glsl"
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint OP = 0;

const uint ADD = 0, SUB = 1, MUL = 2, DIV = 3, POW = 4, MAXIMUM = 5, MINIMUM = 6;
const uint EQ = 7, NE = 8, LT = 9, LE = 10, GT = 11, GE = 12;
const bool COMPARE = OP >= EQ;

const uint FLAG_VEC4 = 1u;      // contiguous and 4-element aligned: one thread per 4 elements
const uint FLAG_SCALAR_B = 2u;  // b holds the scalar's bits (f32 bits, or the int64) instead of an address

layout(push_constant) uniform PC {
  uint64_t a;
  uint64_t b;
  uint64_t out_;
  uint n;
  uint flags;  // FLAG_* in bits 0-7, coalesced ndim (1-8) in bits 8-11
  uvec4 shape_lo, shape_hi;
  uvec4 a_stride_lo, a_stride_hi;
  uvec4 b_stride_lo, b_stride_hi;
} pc;

#if FLOAT
#define VAL float
#define LOAD CAT3(load_, DT, _f)
#define STORE CAT3(store_, DT, _f)
VAL scalar_b() { return uintBitsToFloat(uint(pc.b)); }

VAL apply(VAL x, VAL y) {
  if (OP == ADD) return x + y;
  if (OP == SUB) return x - y;
  if (OP == MUL) return x * y;
  if (OP == DIV) return div_rn(x, y);
  if (OP == POW) return pow_f(x, y);
  // torch.maximum / minimum propagate NaN; min() / max() leave it undefined.
  if (OP == MAXIMUM) return (x > y || isnan(x)) ? x : y;
  return (x < y || isnan(x)) ? x : y;
}
#else
#define VAL int64_t
#define LOAD CAT3(load_, DT, _i)
#define STORE CAT3(store_, DT, _i)
VAL scalar_b() { return int64_t(pc.b); }

// Floor division; x / 0 = 0 and x / -1 = -x (wrapping) so no input is undefined. The rounding test uses the
// remainder's sign: lavapipe (Mesa 22.3) miscompiles the equivalent `q * y != x && (x < 0) != (y < 0)` for
// operands sign-extended from i32 / i8.
int64_t floor_div(int64_t x, int64_t y) {
  if (y == 0) return 0;
  if (y == -1) return -x;
  int64_t q = x / y;
  int64_t r = x - q * y;
  return (r != 0 && (r ^ y) < 0) ? q - 1 : q;  // a remainder of the divisor's opposite sign: round down
}

VAL apply(VAL x, VAL y) {
  if (OP == ADD) return x + y;
  if (OP == SUB) return x - y;
  if (OP == MUL) return x * y;
  if (OP == DIV) return floor_div(x, y);
  if (OP == MAXIMUM) return max(x, y);
  return min(x, y);
}
#endif

bool compare(VAL x, VAL y) {
  if (OP == EQ) return x == y;
  if (OP == NE) return !(x == y);  // true for NaN, whatever the driver makes of an unordered !=
  if (OP == LT) return x < y;
  if (OP == LE) return x <= y;
  if (OP == GT) return x > y;
  return x >= y;
}

void store_result(uint i, VAL x, VAL y) {
  if (COMPARE) store_u8_i(pc.out_, i, compare(x, y) ? 1 : 0);
  else STORE(pc.out_, i, apply(x, y));
}

VAL load_b(uint i) { return (pc.flags & FLAG_SCALAR_B) != 0 ? scalar_b() : LOAD(pc.b, i); }

void main() {
  uint t = linear_id();
#if FLOAT
  if ((pc.flags & FLAG_VEC4) != 0) {
    uint i = t * 4;
    if (i >= pc.n) return;
    if (i + 4 > pc.n) {  // the tail of a size that is not a multiple of 4
      for (; i < pc.n; ++i) store_result(i, LOAD(pc.a, i), load_b(i));
      return;
    }
    vec4 x = CAT2(load4_, DT)(pc.a, t);
    vec4 y = (pc.flags & FLAG_SCALAR_B) != 0 ? vec4(scalar_b()) : CAT2(load4_, DT)(pc.b, t);
    if (COMPARE) {
      store4_u8(pc.out_, t, bvec4(compare(x.x, y.x), compare(x.y, y.y), compare(x.z, y.z), compare(x.w, y.w)));
    } else {
      CAT2(store4_, DT)(pc.out_, t, vec4(apply(x.x, y.x), apply(x.y, y.y), apply(x.z, y.z), apply(x.w, y.w)));
    }
    return;
  }
#endif
  if (t >= pc.n) return;
  uvec2 off = strided_offsets2(t, (pc.flags >> 8) & 15u, pc.shape_lo, pc.shape_hi, pc.a_stride_lo, pc.a_stride_hi,
                               pc.b_stride_lo, pc.b_stride_hi);
  store_result(t, LOAD(pc.a, off.x), load_b(off.y));
}
