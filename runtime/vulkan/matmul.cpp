// Vulkan matmul: the matrix-vector kernel (kernels/matvec.comp) when a or b has at most kMatvecRows rows / columns,
// the tiled GEMM (kernels/matmul.comp) otherwise, with tile sizes chosen from the device's limits and the shape.
// Batch dims are coalesced into the four the shaders index; more, or more batch entries than one dispatch may
// have, become several dispatches.
#include "runtime/ops/matmul.h"

#include <algorithm>
#include <array>
#include <string>

#include "runtime/cpu/elem.h"
#include "runtime/vulkan/device.h"
#include "runtime/vulkan/dispatch.h"
#include "runtime/vulkan/gemm_tiles.h"

namespace glint::vk {
namespace {

// Mirrors the push constants of kernels/common/matmul_common.glsl.
struct GemmParams {
  uint64_t a, b, c, bias;
  uint32_t batch_shape[4], a_batch_stride[4], b_batch_stride[4];
  uint32_t m, n, k, c_batch_stride;
  uint32_t a_rs, a_cs, b_rs, b_cs;
  uint32_t c_rs, c_cs, bias_rs, bias_cs;
};
static_assert(sizeof(GemmParams) == 128 && offsetof(GemmParams, batch_shape) == 32 && offsetof(GemmParams, m) == 80);

constexpr int64_t kMatvecRows = 8;        // matvec.comp keeps M accumulators per column in registers
constexpr uint32_t kMatvecThreads = 128;  // a multiple of every subgroup size (powers of two up to 128)

// One product c = a @ b (+ bias) in addresses and element strides (see matmul_common.glsl), not yet cut into
// dispatches. Batch strides: [0] a, [1] b, [2] c.
struct Problem {
  uint64_t a, b, c, bias;
  int64_t m, n, k;
  int64_t a_rs, a_cs, b_rs, b_cs, c_rs, c_cs, bias_rs, bias_cs;
  Shape batch;
  std::array<Shape, 3> batch_strides;
  int64_t elem;  // bytes per element
};

Problem make_problem(const Tensor& a, const Tensor& b, const Tensor& bias, const Tensor& c) {
  const int nd = c.ndim();
  Problem p{address(a),
            address(b),
            address(c),
            bias.defined() ? address(bias) : 0,
            c.shape()[nd - 2],
            c.shape()[nd - 1],
            a.shape()[nd - 1],
            a.strides()[nd - 2],
            a.strides()[nd - 1],
            b.strides()[nd - 2],
            b.strides()[nd - 1],
            c.strides()[nd - 2],
            c.strides()[nd - 1],
            0,
            1,
            {},
            {},
            int64_t(dtype_size(c.dtype()))};
  p.batch.assign(c.shape().begin(), c.shape().end() - 2);
  p.batch_strides = {Shape(a.strides().begin(), a.strides().end() - 2),
                     Shape(b.strides().begin(), b.strides().end() - 2),
                     Shape(c.strides().begin(), c.strides().end() - 2)};
  cpu::coalesce(p.batch, p.batch_strides);
  return p;
}

// The same product as c^T = b^T @ a^T, which turns few columns into few rows.
Problem transposed(Problem p) {
  std::swap(p.a, p.b);
  std::swap(p.m, p.n);
  const int64_t a_rs = p.a_rs, a_cs = p.a_cs;
  p.a_rs = p.b_cs, p.a_cs = p.b_rs, p.b_rs = a_cs, p.b_cs = a_rs;
  std::swap(p.c_rs, p.c_cs);
  std::swap(p.bias_rs, p.bias_cs);
  std::swap(p.batch_strides[0], p.batch_strides[1]);
  return p;
}

// Calls launch(q) for sub-problems covering p's batch, each with at most 4 batch dims and max_z entries.
template <class F>
void for_each_batch_chunk(const Problem& p, uint32_t max_z, const F& launch) {
  const int64_t inner = numel_of(Shape(p.batch.begin() + 1, p.batch.end()));
  if (p.batch.size() <= 4 && inner * p.batch[0] <= max_z) return launch(p);
  Problem q = p;
  auto advance = [&](int64_t i) {
    q.a = p.a + uint64_t(i * p.batch_strides[0][0] * p.elem);
    q.b = p.b + uint64_t(i * p.batch_strides[1][0] * p.elem);
    q.c = p.c + uint64_t(i * p.batch_strides[2][0] * p.elem);
  };
  if (p.batch.size() > 4 || inner > max_z) {  // one entry of the leading dim at a time
    q.batch.erase(q.batch.begin());
    for (Shape& s : q.batch_strides) s.erase(s.begin());
    for (int64_t i = 0; i < p.batch[0]; ++i) advance(i), for_each_batch_chunk(q, max_z, launch);
  } else {
    const int64_t step = max_z / inner;
    for (int64_t i = 0; i < p.batch[0]; i += step) {
      advance(i);
      q.batch[0] = std::min(step, p.batch[0] - i);
      launch(q);
    }
  }
}

// The shaders index in 32-bit elements within a matrix and a batch stride (batch offsets are widened there).
uint32_t u32(int64_t v) {
  GLINT_CHECK(v >= 0 && v <= int64_t(UINT32_MAX), "matmul", "stride or size ", v,
              " exceeds the 32-bit element offsets of the Vulkan kernels");
  return uint32_t(v);
}

GemmParams params(const Problem& p) {
  GemmParams g{.a = p.a, .b = p.b, .c = p.c, .bias = p.bias};
  g.m = u32(p.m), g.n = u32(p.n), g.k = u32(p.k), g.c_batch_stride = u32(p.m * p.n);
  g.a_rs = u32(p.a_rs), g.a_cs = u32(p.a_cs), g.b_rs = u32(p.b_rs), g.b_cs = u32(p.b_cs);
  g.c_rs = u32(p.c_rs), g.c_cs = u32(p.c_cs), g.bias_rs = u32(p.bias_rs), g.bias_cs = u32(p.bias_cs);
  const size_t lead = 4 - p.batch.size();
  for (size_t i = 0; i < 4; ++i) {
    const bool pad = i < lead;
    g.batch_shape[i] = pad ? 1 : u32(p.batch[i - lead]);
    g.a_batch_stride[i] = pad ? 0 : u32(p.batch_strides[0][i - lead]);
    g.b_batch_stride[i] = pad ? 0 : u32(p.batch_strides[1][i - lead]);
  }
  return g;
}


// Whether an operand allows 4-element loads along its contiguous dim: its address and every other stride it steps
// by (`other`: the matrix's non-unit stride, 0 when that dim has size 1; and its batch strides) keep them aligned.
bool vec4_ok(uint64_t address, int64_t elem, int64_t other, const Shape& batch_strides) {
  auto aligned = [](int64_t s) { return s % 4 == 0; };
  return address % uint64_t(4 * elem) == 0 && aligned(other) &&
         std::all_of(batch_strides.begin(), batch_strides.end(), aligned);
}

void gemm(const std::string& dt, const ComputeLimits& lim, const Problem& p, const Tensor& a, const Tensor& b,
          const Tensor& bias, const Tensor& c) {
  const GemmTiles t = pick_gemm_tiles(lim, p.m, p.n, numel_of(p.batch));
  const Grid grid{uint32_t((p.n + t.bn - 1) / t.bn), uint32_t((p.m + t.bm - 1) / t.bm), 1};
  GLINT_CHECK(grid.x <= lim.max_groups[0] && grid.y <= lim.max_groups[1], "matmul", "a ", p.m, "x", p.n,
              " product exceeds the workgroup grid of this device");
  const bool a_vec =
      vec4_ok(p.a, p.elem, p.a_cs == 1 ? (p.m > 1 ? p.a_rs : 0) : (p.k > 1 ? p.a_cs : 0), p.batch_strides[0]);
  const bool b_vec =
      vec4_ok(p.b, p.elem, p.b_cs == 1 ? (p.k > 1 ? p.b_rs : 0) : (p.n > 1 ? p.b_cs : 0), p.batch_strides[1]);
  for_each_batch_chunk(p, lim.max_groups[2], [&](const Problem& q) {
    Grid g = grid;
    g.z = uint32_t(numel_of(q.batch));
    dispatch("matmul_" + dt, params(q), g, {a, b, bias}, {c},
             {t.threads(), t.bm, t.bn, t.bk, t.tm, t.tn, a_vec ? 4u : 1u, b_vec ? 4u : 1u});
  });
}

void matvec(const std::string& dt, const ComputeLimits& lim, const Problem& p, const Tensor& a, const Tensor& b,
            const Tensor& bias, const Tensor& c) {
  // b contiguous along k (a weight seen transposed): subgroups reduce along k; otherwise threads own columns.
  const bool k_contig = p.b_rs == 1;
  bool vec;
  uint32_t threads, nc = 1, groups;
  if (k_contig) {
    vec = p.a_cs == 1 && vec4_ok(p.a, p.elem, p.m > 1 ? p.a_rs : 0, p.batch_strides[0]) &&
          vec4_ok(p.b, p.elem, p.n > 1 ? p.b_cs : 0, p.batch_strides[1]);
    threads = kMatvecThreads;
    nc = p.n >= 2048 ? 4 : p.n >= 512 ? 2 : 1;  // more columns per subgroup reuse x; fewer keep the GPU busy
    const int64_t subgroups = (p.n + nc - 1) / nc, per_group = std::max<int64_t>(1, threads / lim.subgroup);
    groups = uint32_t(std::min<int64_t>((subgroups + per_group - 1) / per_group, lim.max_groups[0]));
  } else {
    vec = p.b_cs == 1 && vec4_ok(p.b, p.elem, p.k > 1 ? p.b_rs : 0, p.batch_strides[1]);
    threads = lim.max_threads >= 256 ? 256 : 128;  // 32 column threads times threads / 32 slices of k
    const int64_t columns = 32 * (vec ? 4 : 1);
    groups = uint32_t(std::min<int64_t>((p.n + columns - 1) / columns, lim.max_groups[0]));
  }
  for_each_batch_chunk(p, lim.max_groups[2], [&](const Problem& q) {
    dispatch("matvec_" + dt, params(q), Grid{groups, 1, uint32_t(numel_of(q.batch))}, {a, b, bias}, {c},
             {threads, uint32_t(p.m), nc, vec ? 4u : 1u, k_contig ? 1u : 0u});
  });
}

void matmul_vulkan(const Tensor& a, const Tensor& b, const Tensor& bias, const Tensor& c) {
  const ComputeLimits& lim = compute_limits(device_of(c));
  const std::string dt(dtype_name(c.dtype()));
  const Problem p = make_problem(a, b, bias, c);
  if (std::min(p.m, p.n) <= kMatvecRows) {  // subgroup arithmetic is required of every device glint uses
    matvec(dt, lim, p.m <= kMatvecRows ? p : transposed(p), a, b, bias, c);
  } else {
    gemm(dt, lim, p, a, b, bias, c);
  }
}

const OpRegistration reg(matmul_kernel, DeviceKind::vulkan, matmul_vulkan);

}  // namespace
}  // namespace glint::vk
