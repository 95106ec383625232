// Vulkan elementwise kernels: kernels/binary.comp, unary.comp and where.comp. The host coalesces the operands'
// dims (so the shaders walk as few dims as possible), picks the 4-wide path when everything is contiguous and
// aligned, and selects the arithmetic with the OP specialization constant.
#include "runtime/ops/elementwise.h"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/cpu/elem.h"  // coalesce(): the same dim merging the CPU loops use
#include "runtime/vulkan/dispatch.h"

namespace glint::vk {
namespace {

constexpr uint32_t kLocalSize = 256;  // local_size_x of the three shaders
constexpr uint32_t kFlagVec4 = 1, kFlagScalarB = 2;

// Mirrors the push constants of kernels/binary.comp.
struct BinaryPC {
  uint64_t a, b, out;  // b: an address, or the scalar's bits with kFlagScalarB
  uint32_t n, flags;   // flags: kFlag* | ndim << 8
  Dims8 shape, a_stride, b_stride;
};
static_assert(sizeof(BinaryPC) == 128 && offsetof(BinaryPC, shape) == 32);

// Mirrors the push constants of kernels/unary.comp.
struct UnaryPC {
  uint64_t x, out;
  int64_t lo_i, hi_i;
  uint32_t n, flags;
  float lo_f, hi_f;
  Dims8 shape, x_stride;
};
static_assert(sizeof(UnaryPC) == 112 && offsetof(UnaryPC, shape) == 48);

// Mirrors the push constants of kernels/where.comp (4 dims: see there).
struct WherePC {
  uint64_t cond, a, b, out;
  uint32_t shape[4], cond_stride[4], a_stride[4], b_stride[4];  // uvec4s: 16-byte aligned in the shader
  uint32_t n, ndim;
};
static_assert(sizeof(WherePC) == 104 && offsetof(WherePC, shape) == 32 && offsetof(WherePC, n) == 96);

// out's shape and the operands' strides over it, with dims merged where every operand allows.
template <size_t N>
struct Layout {
  Shape shape;
  std::array<Shape, N> strides;
};

// Shaders index with 32-bit element offsets.
template <size_t N>
Layout<N> coalesced(const Shape& shape, const std::array<Shape, N>& strides, std::string_view op) {
  Layout<N> l{shape, strides};
  cpu::coalesce(l.shape, l.strides);
  GLINT_CHECK(numel_of(shape) <= int64_t(UINT32_MAX), op, "tensor of ", numel_of(shape),
              " elements exceeds the Vulkan kernels' 32-bit indexing");
  for (const Shape& st : l.strides) {
    int64_t last = 0;
    for (size_t d = 0; d < st.size(); ++d) last += (l.shape[d] - 1) * st[d];
    GLINT_CHECK(last <= int64_t(UINT32_MAX), op, "view spans ", last + 1,
                " elements, beyond the Vulkan kernels' 32-bit indexing");
  }
  return l;
}

// The 4-wide path needs one dim with unit strides and addresses aligned to 4 elements of each tensor's dtype.
template <size_t N>
bool vec4_ok(const Layout<N>& l, std::initializer_list<const Tensor*> tensors) {
  if (l.shape.size() != 1) return false;
  for (const Shape& st : l.strides)
    if (st[0] != 1) return false;
  for (const Tensor* t : tensors)
    if (address(*t) % (4 * dtype_size(t->dtype())) != 0) return false;
  return true;
}

std::string shader_name(std::string_view op, DType dt) { return std::string(op) + "_" + std::string(dtype_name(dt)); }

// b == nullptr: the scalar form.
void run_binary(BinaryOp op, const Tensor& a, const Tensor* b, double scalar, const Tensor& out) {
  const Shape& b_strides = b ? b->strides() : Shape(a.ndim(), 0);
  Layout<2> l = coalesced<2>(out.shape(), {a.strides(), b_strides}, op_name(op));
  const bool floating = is_floating(a.dtype());
  const bool vec = floating && (b ? vec4_ok(l, {&a, b, &out}) : vec4_ok<1>({l.shape, {l.strides[0]}}, {&a, &out}));
  BinaryPC pc{};
  pc.a = address(a);
  pc.out = address(out);
  if (b)
    pc.b = address(*b);
  else
    pc.b = floating ? std::bit_cast<uint32_t>(float(scalar)) : std::bit_cast<uint64_t>(int64_t(scalar));
  pc.n = uint32_t(out.numel());
  pc.flags = (vec ? kFlagVec4 : 0) | (b ? 0 : kFlagScalarB) | uint32_t(l.shape.size()) << 8;
  pc.shape = pack_dims(l.shape, 1);
  pc.a_stride = pack_dims(l.strides[0], 0);
  pc.b_stride = pack_dims(l.strides[1], 0);
  const Grid grid = grid_1d(vec ? (out.numel() + 3) / 4 : out.numel(), kLocalSize);
  const std::string shader = shader_name("binary", a.dtype());
  if (b)
    dispatch(shader, pc, grid, {a, *b}, {out}, {uint32_t(op)});
  else
    dispatch(shader, pc, grid, {a}, {out}, {uint32_t(op)});
}

void binary_vk(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) { run_binary(op, a, &b, 0, out); }

void binary_scalar_vk(BinaryOp op, const Tensor& a, double b, const Tensor& out) { run_binary(op, a, nullptr, b, out); }

void unary_vk(UnaryOp op, const Tensor& x, const ClampBounds& bounds, const Tensor& out) {
  Layout<1> l = coalesced<1>(out.shape(), {x.strides()}, op_name(op));
  const bool vec = is_floating(x.dtype()) && vec4_ok(l, {&x, &out});
  UnaryPC pc{};
  pc.x = address(x);
  pc.out = address(out);
  pc.lo_i = bounds.lo_i;
  pc.hi_i = bounds.hi_i;
  pc.n = uint32_t(out.numel());
  pc.flags = (vec ? kFlagVec4 : 0) | uint32_t(l.shape.size()) << 8;
  pc.lo_f = bounds.lo_f;
  pc.hi_f = bounds.hi_f;
  pc.shape = pack_dims(l.shape, 1);
  pc.x_stride = pack_dims(l.strides[0], 0);
  const Grid grid = grid_1d(vec ? (out.numel() + 3) / 4 : out.numel(), kLocalSize);
  dispatch(shader_name("unary", x.dtype()), pc, grid, {x}, {out}, {uint32_t(op)});
}

// Right-aligns up to 4 dims into a uvec4 (leading entries unused by the shader).
void pack4(const Shape& s, uint32_t (&dst)[4]) {
  for (size_t i = 0; i < s.size(); ++i) dst[4 - s.size() + i] = uint32_t(s[i]);
}

void where_vk(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  Tensor c = cond, x = a, y = b;
  Layout<3> l = coalesced<3>(out.shape(), {c.strides(), x.strides(), y.strides()}, "where");
  if (l.shape.size() > 4) {  // contiguous operands coalesce to one dim
    c = c.contiguous();
    x = x.contiguous();
    y = y.contiguous();
    l = coalesced<3>(out.shape(), {c.strides(), x.strides(), y.strides()}, "where");
  }
  WherePC pc{};
  pc.cond = address(c);
  pc.a = address(x);
  pc.b = address(y);
  pc.out = address(out);
  pc.n = uint32_t(out.numel());
  pc.ndim = uint32_t(l.shape.size());
  pack4(l.shape, pc.shape);
  pack4(l.strides[0], pc.cond_stride);
  pack4(l.strides[1], pc.a_stride);
  pack4(l.strides[2], pc.b_stride);
  const std::string shader = "where_u" + std::to_string(8 * dtype_size(out.dtype()));
  dispatch(shader, pc, grid_1d(out.numel(), kLocalSize), {c, x, y}, {out});
}

const OpRegistration reg_binary(binary_kernel, DeviceKind::vulkan, binary_vk);
const OpRegistration reg_binary_scalar(binary_scalar_kernel, DeviceKind::vulkan, binary_scalar_vk);
const OpRegistration reg_unary(unary_kernel, DeviceKind::vulkan, unary_vk);
const OpRegistration reg_where(where_kernel, DeviceKind::vulkan, where_vk);

}  // namespace
}  // namespace glint::vk
