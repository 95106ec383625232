// Vulkan convolution: the three products of kernels/conv2d.comp (forward, input gradient, weight gradient), each one
// dispatch with a workgroup layer per group, tiles chosen like matmul's from the device's limits and the shape; and
// kernels/upsample_nearest.comp for the nearest resize and its gradient.
#include "runtime/ops/conv.h"

#include <cstddef>
#include <string>

#include "runtime/vulkan/device.h"
#include "runtime/vulkan/dispatch.h"
#include "runtime/vulkan/gemm_tiles.h"

namespace glint::vk {
namespace {

struct ConvPC {  // mirrors kernels/conv2d.comp
  uint64_t x, weight, y, bias;
  uint32_t n, c, h, w;
  uint32_t o, oh, ow, cg;
  uint32_t og, stride_h, stride_w, pad_h;
  uint32_t pad_w, dil_h, dil_w, m;
  uint32_t nc, k;
};
static_assert(sizeof(ConvPC) == 104 && offsetof(ConvPC, n) == 32);

enum class Mode : uint32_t { forward = 0, input_grad = 1, weight_grad = 2 };

// The kernel indexes elements with 32-bit offsets.
uint32_t u32(const char* op, int64_t v) {
  GLINT_CHECK(v >= 0 && v <= int64_t(UINT32_MAX), op, "size ", v, " exceeds the 32-bit offsets of the Vulkan kernel");
  return uint32_t(v);
}

void run(Mode mode, const char* op, const Conv2dShape& s, const Tensor& x, const Tensor& weight, const Tensor& y,
         const Tensor& bias, std::initializer_list<Tensor> reads, const Tensor& out) {
  const int64_t groups = s.p.groups, cg = s.c / groups, og = s.o / groups, taps = s.kh * s.kw;
  int64_t m = 0, nc = 0, k = 0;  // the GEMM of one group
  switch (mode) {
    case Mode::forward:
      m = s.n * s.oh * s.ow, nc = og, k = cg * taps;
      break;
    case Mode::input_grad:
      m = s.n * s.h * s.w, nc = cg, k = og * taps;
      break;
    case Mode::weight_grad:
      m = og, nc = cg * taps, k = s.n * s.oh * s.ow;
      break;
  }
  for (const Tensor& t : {x, weight, y}) u32(op, t.numel());
  u32(op, m * nc);
  const bool pointwise =
      taps == 1 && s.p.stride[0] == 1 && s.p.stride[1] == 1 && s.p.padding[0] == 0 && s.p.padding[1] == 0;
  const ConvPC pc{.x = address(x),
                  .weight = address(weight),
                  .y = address(y),
                  .bias = bias.defined() ? address(bias) : 0,
                  .n = uint32_t(s.n),
                  .c = uint32_t(s.c),
                  .h = uint32_t(s.h),
                  .w = uint32_t(s.w),
                  .o = uint32_t(s.o),
                  .oh = uint32_t(s.oh),
                  .ow = uint32_t(s.ow),
                  .cg = uint32_t(cg),
                  .og = uint32_t(og),
                  .stride_h = u32(op, s.p.stride[0]),
                  .stride_w = u32(op, s.p.stride[1]),
                  .pad_h = u32(op, s.p.padding[0]),
                  .pad_w = u32(op, s.p.padding[1]),
                  .dil_h = u32(op, s.p.dilation[0]),
                  .dil_w = u32(op, s.p.dilation[1]),
                  .m = uint32_t(m),
                  .nc = uint32_t(nc),
                  .k = uint32_t(k)};
  const ComputeLimits& lim = compute_limits(device_of(out));
  const GemmTiles t = pick_gemm_tiles(lim, m, nc, groups);
  const Grid grid{uint32_t((nc + t.bn - 1) / t.bn), uint32_t((m + t.bm - 1) / t.bm), uint32_t(groups)};
  GLINT_CHECK(grid.x <= lim.max_groups[0] && grid.y <= lim.max_groups[1] && grid.z <= lim.max_groups[2], op,
              "the convolution exceeds the workgroup grid of this device");
  dispatch(
      "conv2d_" + std::string(dtype_name(out.dtype())), pc, grid, reads, {out},
      {t.threads(), t.bm, t.bn, t.bk, t.tm, t.tn, uint32_t(mode), u32(op, s.kh), u32(op, s.kw), pointwise ? 1u : 0u});
}

void conv2d_vulkan(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dShape& s, const Tensor& y) {
  run(Mode::forward, "conv2d", s, x, weight, y, bias, {x, weight, bias}, y);
}

void conv2d_backward_input_vulkan(const Tensor& dy, const Tensor& weight, const Conv2dShape& s, const Tensor& dx) {
  run(Mode::input_grad, "conv2d_backward_input", s, dx, weight, dy, Tensor(), {dy, weight}, dx);
}

void conv2d_backward_weight_vulkan(const Tensor& dy, const Tensor& x, const Conv2dShape& s, const Tensor& dw) {
  run(Mode::weight_grad, "conv2d_backward_weight", s, x, dw, dy, Tensor(), {dy, x}, dw);
}

struct UpsamplePC {  // mirrors kernels/upsample_nearest.comp
  uint64_t src, dst;
  uint32_t planes, h, w, oh, ow;
  float scale_h, scale_w;
};
static_assert(sizeof(UpsamplePC) == 48);  // 44 bytes of fields, padded to 8

// x (planes, h, w) is the small side and y (planes, oh, ow) the resized one, whichever is read.
void upsample(bool backward, const Tensor& small, const Tensor& big, const Tensor& src, const Tensor& dst) {
  const char* op = backward ? "upsample_nearest_backward" : "upsample_nearest";
  u32(op, small.numel());
  u32(op, big.numel());
  const int64_t h = small.dim(2), w = small.dim(3), oh = big.dim(2), ow = big.dim(3);
  const UpsamplePC pc{.src = address(src),
                      .dst = address(dst),
                      .planes = uint32_t(small.dim(0) * small.dim(1)),
                      .h = uint32_t(h),
                      .w = uint32_t(w),
                      .oh = uint32_t(oh),
                      .ow = uint32_t(ow),
                      .scale_h = float(h) / float(oh),
                      .scale_w = float(w) / float(ow)};
  dispatch("upsample_nearest_" + std::string(dtype_name(dst.dtype())), pc, grid_1d(uint64_t(dst.numel()), 256), {src},
           {dst}, {backward ? 1u : 0u});
}

void upsample_nearest_vulkan(const Tensor& x, const Tensor& y) { upsample(false, x, y, x, y); }
void upsample_nearest_backward_vulkan(const Tensor& dy, const Tensor& dx) { upsample(true, dx, dy, dy, dx); }

const OpRegistration reg_conv(conv2d_kernel, DeviceKind::vulkan, conv2d_vulkan);
const OpRegistration reg_input(conv2d_backward_input_kernel, DeviceKind::vulkan, conv2d_backward_input_vulkan);
const OpRegistration reg_weight(conv2d_backward_weight_kernel, DeviceKind::vulkan, conv2d_backward_weight_vulkan);
const OpRegistration reg_up(upsample_nearest_kernel, DeviceKind::vulkan, upsample_nearest_vulkan);
const OpRegistration reg_up_back(upsample_nearest_backward_kernel, DeviceKind::vulkan,
                                 upsample_nearest_backward_vulkan);

}  // namespace
}  // namespace glint::vk
