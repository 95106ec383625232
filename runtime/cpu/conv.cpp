// CPU convolution: every product is one sgemm (runtime/cpu/gemm.h) per (image, group). A k x k convolution gathers
// its input into an im2col matrix (C/groups * KH * KW rows, one column per output pixel) in chunks of columns, so
// the scratch stays bounded (kScratchFloats) however large the image; a 1x1 stride-1 unpadded convolution is a GEMM
// over the channels of the image as it lies in memory, with no gather at all.
//   forward          y[n,g]  (og, ohw) = W[g] (og, K) @ col (K, ohw)            (+ bias rows first, beta = 1)
//   backward input   dcol    (K, ohw)  = W[g]^T @ dy[n,g], scattered back onto dx (col2im)
//   backward weight  dW[g]   (og, K)  += dy[n,g] @ col^T, accumulated over images and chunks (beta = 1)
// f16 / bf16 tensors are widened to f32 once and the f32 result rounded once, so accumulation is f32 throughout.
// sgemm threads with OpenMP, so the gathers' parallel loops share its thread pool.
#include "runtime/ops/conv.h"


#include <algorithm>
#include <memory>
#include <vector>

#include "runtime/cpu/elem.h"
#include "runtime/cpu/gemm.h"
#include "runtime/cpu/simd_clones.h"

namespace glint::cpu {
namespace {

// 64 MiB of im2col columns at most: an SD UNet 3x3 convolution at 64x64 latents (47 MiB) stays one chunk. Smaller
// chunks make sgemm pack the weight again for each one: 16 MiB chunks measured 25-30% slower there.
constexpr int64_t kScratchFloats = int64_t(1) << 24;
constexpr int64_t kParallelWork = int64_t(1) << 15;  // elements below which a gather stays on one thread

// Uninitialised scratch for the im2col chunks, kept per thread across calls: a fresh block every call costs its page
// faults (and zeroing, for a vector) on every convolution, which measured 20-30% of an SD-sized one.
float* scratch(int64_t n) {
  thread_local std::unique_ptr<float[]> buf;
  thread_local int64_t size = 0;
  if (n > size) buf.reset(new float[size_t(n)]), size = n;
  return buf.get();
}

// t as f32: itself, or a widened copy.
Tensor f32(const Tensor& t) { return t.defined() && t.dtype() != DType::f32 ? t.to(DType::f32) : t; }
// Where an op writes: out itself when f32, else an f32 tensor to be rounded into out by finish().
Tensor f32_out(const Tensor& out) {
  return out.dtype() == DType::f32 ? out : Tensor::empty(out.shape(), DType::f32, out.device());
}
void finish(const Tensor& f, Tensor out) {
  if (out.dtype() != DType::f32) out.copy_from(f);
}

// The sizes one (image, group) product needs.
struct Geometry {
  explicit Geometry(const Conv2dShape& s)
      : s(s),
        cg(s.c / s.p.groups),
        og(s.o / s.p.groups),
        k(cg * s.kh * s.kw),
        hw(s.h * s.w),
        ohw(s.oh * s.ow),
        pointwise(s.kh == 1 && s.kw == 1 && s.p.stride[0] == 1 && s.p.stride[1] == 1 && s.p.padding[0] == 0 &&
                  s.p.padding[1] == 0),
        chunk(std::clamp<int64_t>(kScratchFloats / k, 1, ohw)) {}
  const Conv2dShape& s;
  int64_t cg, og, k, hw, ohw;
  bool pointwise;
  int64_t chunk;  // output pixels per im2col chunk
  // Offsets of image n, group g in x / y, and of group g in the weight.
  int64_t x_at(int64_t n, int64_t g) const { return (n * s.c + g * cg) * hw; }
  int64_t y_at(int64_t n, int64_t g) const { return (n * s.o + g * og) * ohw; }
  int64_t w_at(int64_t g) const { return g * og * k; }
};

// Walks the im2col matrix's rows (c, ki, kj) over output pixels [p0, p0 + cols) in runs along an output row:
// calls f(at, src, count) where `at` is the run's first element in the (K, cols) matrix and `src` the offset in the
// (image, group)'s x of the input pixel it reads, the next ones stride[1] apart, or -1 for a run of padding. Runs
// make the gathers plain strided copies without a bounds check per element. Rows are split across threads.
template <class F>
GLINT_SIMD_CLONES void for_each_run(const Geometry& g, int64_t p0, int64_t cols, bool channel_parallel, const F& f) {
  const Conv2dShape& s = g.s;
  const int64_t taps = s.kh * s.kw, sh = s.p.stride[0], sw = s.p.stride[1];
  // Rows of one channel go to one thread when the caller writes per channel (col2im adds into x's channel).
  const int64_t units = channel_parallel ? g.cg : g.k, per = channel_parallel ? taps : 1;
#pragma omp parallel for schedule(static) if (g.k * cols > kParallelWork)
  for (int64_t u = 0; u < units; ++u)
    for (int64_t row = u * per; row < (u + 1) * per; ++row) {
      const int64_t c = row / taps, ki = row % taps / s.kw, kj = row % s.kw;
      const int64_t dh = ki * s.p.dilation[0] - s.p.padding[0], dw = kj * s.p.dilation[1] - s.p.padding[1];
      // The output columns whose input column is inside the image: ow * sw + dw in [0, w).
      const int64_t ow_lo = std::min(s.ow, dw >= 0 ? 0 : (-dw + sw - 1) / sw);
      const int64_t ow_hi = std::clamp<int64_t>(s.w - dw > 0 ? (s.w - dw + sw - 1) / sw : 0, ow_lo, s.ow);
      for (int64_t p = p0; p < p0 + cols;) {
        const int64_t oh = p / s.ow, a = p % s.ow, b = std::min(s.ow, a + p0 + cols - p);
        const int64_t ih = oh * sh + dh, at = row * cols + p - p0;
        if (ih < 0 || ih >= s.h) {
          f(at, int64_t(-1), b - a);
        } else {
          const int64_t lo = std::clamp(ow_lo, a, b), hi = std::clamp(ow_hi, lo, b);
          if (lo > a) f(at, int64_t(-1), lo - a);
          if (hi > lo) f(at + lo - a, (c * s.h + ih) * s.w + lo * sw + dw, hi - lo);
          if (b > hi) f(at + hi - a, int64_t(-1), b - hi);
        }
        p += b - a;
      }
    }
}

// col (K, cols) = im2col of one (image, group) x_g for output pixels [p0, p0 + cols); zeros for padding.
void im2col(const Geometry& g, const float* x_g, int64_t p0, int64_t cols, float* col) {
  const int64_t sw = g.s.p.stride[1];
  for_each_run(g, p0, cols, false, [&](int64_t at, int64_t src, int64_t count) {
    float* dst = col + at;
    if (src < 0)
      std::fill_n(dst, count, 0.f);
    else if (sw == 1)
      std::copy_n(x_g + src, count, dst);
    else
      for (int64_t i = 0; i < count; ++i) dst[i] = x_g[src + i * sw];
  });
}

// dx_g += col2im of col (K, cols) for output pixels [p0, p0 + cols).
void col2im(const Geometry& g, const float* col, int64_t p0, int64_t cols, float* dx_g) {
  const int64_t sw = g.s.p.stride[1];
  for_each_run(g, p0, cols, true, [&](int64_t at, int64_t src, int64_t count) {
    if (src >= 0)
      for (int64_t i = 0; i < count; ++i) dx_g[src + i * sw] += col[at + i];
  });
}

void conv2d_cpu(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dShape& s, const Tensor& y) {
  const Tensor xf = f32(x), wf = f32(weight), bf = f32(bias), yf = f32_out(y);
  const Geometry g(s);
  const float *px = xf.data<float>(), *pw = wf.data<float>(), *pb = bf.defined() ? bf.data<float>() : nullptr;
  float* py = yf.data<float>();
  float* col = g.pointwise ? nullptr : scratch(g.k * g.chunk);
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t gi = 0; gi < s.p.groups; ++gi) {
      float* y_g = py + g.y_at(n, gi);
      if (pb)
        for (int64_t o = 0; o < g.og; ++o) std::fill_n(y_g + o * g.ohw, g.ohw, pb[gi * g.og + o]);
      const float beta = pb ? 1.f : 0.f;
      if (g.pointwise) {
        sgemm(false, false, g.og, g.ohw, g.k, 1.f, pw + g.w_at(gi), g.k, px + g.x_at(n, gi), g.hw, beta, y_g,
              g.ohw);
        continue;
      }
      for (int64_t p0 = 0; p0 < g.ohw; p0 += g.chunk) {
        const int64_t cols = std::min(g.chunk, g.ohw - p0);
        im2col(g, px + g.x_at(n, gi), p0, cols, col);
        sgemm(false, false, g.og, cols, g.k, 1.f, pw + g.w_at(gi), g.k, col, cols, beta, y_g + p0, g.ohw);
      }
    }
  finish(yf, y);
}

void conv2d_backward_input_cpu(const Tensor& dy, const Tensor& weight, const Conv2dShape& s, const Tensor& dx) {
  const Tensor dyf = f32(dy), wf = f32(weight), dxf = f32_out(dx);
  const Geometry g(s);
  const float *pdy = dyf.data<float>(), *pw = wf.data<float>();
  float* pdx = dxf.data<float>();
  float* col = g.pointwise ? nullptr : scratch(g.k * g.chunk);
  if (!g.pointwise) std::fill_n(pdx, dxf.numel(), 0.f);
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t gi = 0; gi < s.p.groups; ++gi) {
      const float* dy_g = pdy + g.y_at(n, gi);
      if (g.pointwise) {
        sgemm(true, false, g.k, g.ohw, g.og, 1.f, pw + g.w_at(gi), g.k, dy_g, g.ohw, 0.f, pdx + g.x_at(n, gi),
              g.hw);
        continue;
      }
      for (int64_t p0 = 0; p0 < g.ohw; p0 += g.chunk) {
        const int64_t cols = std::min(g.chunk, g.ohw - p0);
        sgemm(true, false, g.k, cols, g.og, 1.f, pw + g.w_at(gi), g.k, dy_g + p0, g.ohw, 0.f, col, cols);
        col2im(g, col, p0, cols, pdx + g.x_at(n, gi));
      }
    }
  finish(dxf, dx);
}

void conv2d_backward_weight_cpu(const Tensor& dy, const Tensor& x, const Conv2dShape& s, const Tensor& dw) {
  const Tensor dyf = f32(dy), xf = f32(x), dwf = f32_out(dw);
  const Geometry g(s);
  const float *pdy = dyf.data<float>(), *px = xf.data<float>();
  float* pdw = dwf.data<float>();
  float* col = g.pointwise ? nullptr : scratch(g.k * g.chunk);
  for (int64_t gi = 0; gi < s.p.groups; ++gi) {
    float beta = 0.f;  // the first product of each group overwrites, the rest accumulate
    for (int64_t n = 0; n < s.n; ++n) {
      const float* dy_g = pdy + g.y_at(n, gi);
      if (g.pointwise) {
        sgemm(false, true, g.og, g.k, g.ohw, 1.f, dy_g, g.ohw, px + g.x_at(n, gi), g.hw, beta, pdw + g.w_at(gi),
              g.k);
        beta = 1.f;
        continue;
      }
      for (int64_t p0 = 0; p0 < g.ohw; p0 += g.chunk) {
        const int64_t cols = std::min(g.chunk, g.ohw - p0);
        im2col(g, px + g.x_at(n, gi), p0, cols, col);
        sgemm(false, true, g.og, g.k, cols, 1.f, dy_g + p0, g.ohw, col, cols, beta, pdw + g.w_at(gi), g.k);
        beta = 1.f;
      }
    }
  }
  finish(dwf, dw);
}

// Source rows / columns of every output row / column.
std::vector<int64_t> sources(int64_t n_in, int64_t n_out) {
  std::vector<int64_t> v(static_cast<size_t>(n_out));
  for (int64_t i = 0; i < n_out; ++i) v[size_t(i)] = nearest_source(i, n_in, n_out);
  return v;
}

void upsample_nearest_cpu(const Tensor& x, const Tensor& y) {
  const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
  const std::vector<int64_t> sh = sources(h, oh), sw = sources(w, ow);
  visit_dtype(x.dtype(), [&]<class T>() {  // a copy of elements: no conversion needed for any dtype
    const T* px = ptr<T>(x);
    T* py = ptr<T>(y);
#pragma omp parallel for schedule(static) if (y.numel() > kParallelWork)
    for (int64_t pl = 0; pl < planes; ++pl)
      for (int64_t i = 0; i < oh; ++i) {
        const T* src = px + (pl * h + sh[size_t(i)]) * w;
        T* dst = py + (pl * oh + i) * ow;
        for (int64_t j = 0; j < ow; ++j) dst[j] = src[sw[size_t(j)]];
      }
  });
}

void upsample_nearest_backward_cpu(const Tensor& dy, const Tensor& dx) {
  const int64_t planes = dx.dim(0) * dx.dim(1), h = dx.dim(2), w = dx.dim(3), oh = dy.dim(2), ow = dy.dim(3);
  const std::vector<int64_t> sh = sources(h, oh), sw = sources(w, ow);
  visit_dtype(dy.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) {
      const T* pdy = ptr<T>(dy);
      T* pdx = ptr<T>(dx);
#pragma omp parallel if (dy.numel() > kParallelWork)
      {
        std::vector<float> acc(size_t(h * w));  // one f32 plane per thread, rounded once
#pragma omp for schedule(static)
        for (int64_t pl = 0; pl < planes; ++pl) {
          std::fill(acc.begin(), acc.end(), 0.f);
          for (int64_t i = 0; i < oh; ++i) {
            const T* src = pdy + (pl * oh + i) * ow;
            float* dst = acc.data() + sh[size_t(i)] * w;
            for (int64_t j = 0; j < ow; ++j) dst[sw[size_t(j)]] += to_float(src[j]);
          }
          for (int64_t i = 0; i < h * w; ++i) pdx[pl * h * w + i] = from_float<T>(acc[size_t(i)]);
        }
      }
    }
  });
}

const OpRegistration reg_conv(conv2d_kernel, DeviceKind::cpu, conv2d_cpu);
const OpRegistration reg_input(conv2d_backward_input_kernel, DeviceKind::cpu, conv2d_backward_input_cpu);
const OpRegistration reg_weight(conv2d_backward_weight_kernel, DeviceKind::cpu, conv2d_backward_weight_cpu);
const OpRegistration reg_up(upsample_nearest_kernel, DeviceKind::cpu, upsample_nearest_cpu);
const OpRegistration reg_up_back(upsample_nearest_backward_kernel, DeviceKind::cpu, upsample_nearest_backward_cpu);

}  // namespace
}  // namespace glint::cpu
