// Vulkan 4-bit kernels: dequantize_4bit (kernels/dequantize_4bit.comp) and linear_4bit, which reads the packed
// weight inside the kernels: the matrix-vector kernel (kernels/linear_4bit_matvec.comp) for up to kMatvecRows
// rows of x, the tiled GEMM that dequantises tiles into shared memory (kernels/linear_4bit.comp) otherwise; its
// transposed variant computes linear_4bit_grad_input (g @ W) the same way.
#include "runtime/ops/quant.h"

#include <algorithm>
#include <string>

#include "runtime/vulkan/device.h"
#include "runtime/vulkan/dispatch.h"

namespace glint::vk {
namespace {

// Mirrors the push constants of kernels/common/quant4.glsl.
struct Quant4Params {
  uint64_t x, w, absmax, nested_absmax, nested_code, code, bias, y;
  uint32_t m, n, k, blocksize;
  uint32_t nested_blocksize, nested;
  float offset;
  uint32_t fp4;
};
static_assert(sizeof(Quant4Params) == 96 && offsetof(Quant4Params, m) == 64);

constexpr int64_t kMatvecRows = 8;        // the matvec kernel keeps ROWS accumulators per lane
constexpr uint32_t kMatvecThreads = 128;  // a multiple of every subgroup size
constexpr uint32_t kMaxGroups = 65535;    // the grid every Vulkan device allows in x and y

uint32_t u32(int64_t v, const char* what) {
  GLINT_CHECK(v >= 0 && v <= int64_t(UINT32_MAX), "linear_4bit", what, " ", v,
              " exceeds the 32-bit element offsets of the Vulkan kernels");
  return uint32_t(v);
}

Quant4Params weight_params(const QuantizedTensor& q) {
  const QuantState& s = q.state;
  Quant4Params p{};
  p.w = address(q.packed), p.absmax = address(s.absmax), p.code = address(s.code);
  p.blocksize = uint32_t(s.blocksize), p.fp4 = s.quant_type == Quant4Type::fp4;
  if (s.nested()) {
    p.nested_absmax = address(s.nested_absmax), p.nested_code = address(s.nested_code);
    p.nested_blocksize = u32(s.nested_blocksize, "nested blocksize"), p.nested = 1, p.offset = s.offset;
  }
  return p;
}

void dequantize_vulkan(const QuantizedTensor& q, const Tensor& out) {
  Quant4Params p = weight_params(q);
  p.y = address(out), p.m = 1, p.n = 1, p.k = u32(out.numel(), "element count");
  const QuantState& s = q.state;
  dispatch("dequantize_4bit_" + std::string(dtype_name(out.dtype())), p, grid_1d(uint64_t(out.numel()), 256),
           {q.packed, s.absmax, s.code, s.nested_absmax, s.nested_code}, {out});
}

void linear_4bit_vulkan(const Tensor& x, const QuantizedTensor& q, const Tensor& bias, const Tensor& y) {
  const int64_t m = x.dim(0), k = x.dim(1), n = y.dim(1);
  Quant4Params p = weight_params(q);
  p.x = address(x), p.y = address(y), p.bias = bias.defined() ? address(bias) : 0;
  p.m = u32(m, "rows"), p.n = u32(n, "columns"), p.k = u32(k, "features");
  u32(n * k, "weight size");
  u32(m * std::max(n, k), "activation size");
  const QuantState& s = q.state;
  const std::string dt(dtype_name(x.dtype()));
  if (m <= kMatvecRows) {
    const uint32_t subgroup = std::max(device_of(y).info().subgroup_size, 1u);
    const int64_t per_group = std::max<int64_t>(1, kMatvecThreads / subgroup);
    const uint32_t groups = uint32_t(std::min<int64_t>((n + per_group - 1) / per_group, kMaxGroups));
    const bool words = k % 8 == 0 && p.w % 4 == 0;
    dispatch("linear_4bit_matvec_" + dt, p, Grid{groups, 1, 1},
             {x, q.packed, s.absmax, s.code, s.nested_absmax, s.nested_code, bias}, {y},
             {kMatvecThreads, uint32_t(m), words ? 1u : 0u});
  } else {
    const Grid grid{uint32_t((n + 63) / 64), uint32_t((m + 63) / 64), 1};
    GLINT_CHECK(grid.x <= kMaxGroups && grid.y <= kMaxGroups, "linear_4bit", "a ", m, "x", n,
                " product exceeds the workgroup grid");
    dispatch("linear_4bit_" + dt, p, grid, {x, q.packed, s.absmax, s.code, s.nested_absmax, s.nested_code, bias}, {y});
  }
}

void linear_4bit_grad_input_vulkan(const Tensor& g, const QuantizedTensor& q, const Tensor& gx) {
  // In the kernel's terms the output gx is (M, N = in) and the reduction runs over K = out.
  const int64_t m = g.dim(0), out_f = g.dim(1), in_f = gx.dim(1);
  Quant4Params p = weight_params(q);
  p.x = address(g), p.y = address(gx);
  p.m = u32(m, "rows"), p.n = u32(in_f, "columns"), p.k = u32(out_f, "features");
  u32(out_f * in_f, "weight size");
  u32(m * std::max(out_f, in_f), "activation size");
  const QuantState& s = q.state;
  const Grid grid{uint32_t((in_f + 63) / 64), uint32_t((m + 63) / 64), 1};
  GLINT_CHECK(grid.x <= kMaxGroups && grid.y <= kMaxGroups, "linear_4bit_grad_input", "a ", m, "x", in_f,
              " product exceeds the workgroup grid");
  dispatch("linear_4bit_t_" + std::string(dtype_name(g.dtype())), p, grid,
           {g, q.packed, s.absmax, s.code, s.nested_absmax, s.nested_code}, {gx});
}

const OpRegistration reg_dequant(dequantize_4bit_kernel, DeviceKind::vulkan, dequantize_vulkan);
const OpRegistration reg_linear(linear_4bit_kernel, DeviceKind::vulkan, linear_4bit_vulkan);
const OpRegistration reg_grad_input(linear_4bit_grad_input_kernel, DeviceKind::vulkan, linear_4bit_grad_input_vulkan);

}  // namespace
}  // namespace glint::vk
