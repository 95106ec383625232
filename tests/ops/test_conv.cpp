// conv2d, its input and weight gradients, and nearest upsampling with its gradient, on every device against naive
// double-precision loops written here: odd sizes, strides, paddings, dilations, groups (depthwise too), 1x1
// convolutions (the GEMM fast path), non-contiguous inputs, every float dtype, and the `[op]` errors.
//
// Error bound, as in test_matmul.cpp: the per-element bound of tests/ops/exact_sums.h.
#include <cmath>
#include <functional>

#include "runtime/ops/conv.h"
#include "tests/harness.h"
#include "tests/ops/exact_sums.h"

namespace glint::test {
namespace {

// torch's convolution written out: calls f(y, x, w) with the flat (N, O, OH, OW), (N, C, H, W) and (O, C/groups,
// KH, KW) indices of every product y += x * w that is not padding.
void for_each_product(const Shape& xs, const Shape& ws, const Conv2dParams& p,
                      const std::function<void(int64_t, int64_t, int64_t)>& f) {
  const int64_t n = xs[0], c = xs[1], h = xs[2], w = xs[3], o = ws[0], cg = ws[1], kh = ws[2], kw = ws[3];
  const int64_t oh = (h + 2 * p.padding[0] - p.dilation[0] * (kh - 1) - 1) / p.stride[0] + 1;
  const int64_t ow = (w + 2 * p.padding[1] - p.dilation[1] * (kw - 1) - 1) / p.stride[1] + 1;
  const int64_t og = o / p.groups;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < o; ++oc)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j)
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t ki = 0; ki < kh; ++ki)
              for (int64_t kj = 0; kj < kw; ++kj) {
                const int64_t ih = i * p.stride[0] - p.padding[0] + ki * p.dilation[0];
                const int64_t iw = j * p.stride[1] - p.padding[1] + kj * p.dilation[1];
                if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                const int64_t xc = oc / og * cg + ci;
                f(((b * o + oc) * oh + i) * ow + j, ((b * c + xc) * h + ih) * w + iw,
                  ((oc * cg + ci) * kh + ki) * kw + kj);
              }
}

Shape conv_out_shape(const Shape& xs, const Shape& ws, const Conv2dParams& p) {
  return {xs[0], ws[0], (xs[2] + 2 * p.padding[0] - p.dilation[0] * (ws[2] - 1) - 1) / p.stride[0] + 1,
          (xs[3] + 2 * p.padding[1] - p.dilation[1] * (ws[3] - 1) - 1) / p.stride[1] + 1};
}

ExactSums conv_ref(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  const std::vector<float> vx = x.to_f32(), vw = w.to_f32();
  ExactSums r(conv_out_shape(x.shape(), w.shape(), p));
  if (b.defined()) {
    const std::vector<float> vb = b.to_f32();
    const int64_t plane = r.shape[2] * r.shape[3];
    for (int64_t i = 0; i < numel_of(r.shape); ++i) r.add(i, vb[size_t(i / plane % r.shape[1])]);
  }
  for_each_product(x.shape(), w.shape(), p,
                   [&](int64_t yi, int64_t xi, int64_t wi) { r.add(yi, double(vx[size_t(xi)]) * vw[size_t(wi)]); });
  return r;
}

ExactSums input_grad_ref(const Tensor& dy, const Tensor& w, const Shape& xs, const Conv2dParams& p) {
  const std::vector<float> vdy = dy.to_f32(), vw = w.to_f32();
  ExactSums r(xs);
  for_each_product(xs, w.shape(), p,
                   [&](int64_t yi, int64_t xi, int64_t wi) { r.add(xi, double(vdy[size_t(yi)]) * vw[size_t(wi)]); });
  return r;
}

ExactSums weight_grad_ref(const Tensor& dy, const Tensor& x, const Shape& ws, const Conv2dParams& p) {
  const std::vector<float> vdy = dy.to_f32(), vx = x.to_f32();
  ExactSums r(ws);
  for_each_product(x.shape(), ws, p,
                   [&](int64_t yi, int64_t xi, int64_t wi) { r.add(wi, double(vdy[size_t(yi)]) * vx[size_t(xi)]); });
  return r;
}

Conv2dParams params(std::array<int64_t, 2> stride, std::array<int64_t, 2> padding, std::array<int64_t, 2> dilation,
                    int64_t groups) {
  return {stride, padding, dilation, groups};
}

struct Case {
  Shape x, w;
  Conv2dParams p;
};
// Tiny and 1x1-output cases, SD's 3x3 / pad 1, stride 2 downsampling, 1x1 (fast path and strided), asymmetric
// stride / padding / dilation, grouped and depthwise, and sizes that cross the GPU kernel's tile edges. Three kernel
// sizes only: each is a pipeline per dtype and product on Vulkan, and lavapipe compiles each for about a second.
const Case kCases[] = {
    {{1, 1, 1, 1}, {1, 1, 1, 1}, {}},
    {{2, 3, 7, 5}, {4, 3, 3, 3}, params({1, 1}, {1, 1}, {1, 1}, 1)},
    {{1, 4, 9, 11}, {6, 2, 3, 3}, params({2, 2}, {1, 1}, {1, 1}, 2)},
    {{2, 5, 8, 7}, {3, 5, 1, 1}, {}},
    {{1, 3, 6, 7}, {5, 3, 1, 1}, params({2, 2}, {0, 0}, {1, 1}, 1)},
    {{1, 2, 13, 11}, {3, 2, 3, 2}, params({1, 2}, {2, 0}, {2, 1}, 1)},
    {{2, 6, 5, 5}, {6, 1, 3, 3}, params({1, 1}, {1, 1}, {1, 1}, 6)},
    {{1, 3, 3, 2}, {2, 3, 3, 2}, {}},
    {{2, 17, 12, 13}, {33, 17, 3, 3}, params({1, 1}, {1, 1}, {1, 1}, 1)},
    {{1, 70, 9, 9}, {40, 70, 1, 1}, {}},
    {{1, 6, 11, 10}, {9, 2, 3, 2}, params({3, 2}, {2, 1}, {2, 2}, 3)},
};

const DType kFloatTypes[] = {DType::f32, DType::f16, DType::bf16};

std::string describe(const Case& c, DType dt) {
  return shape_str(c.x) + " * " + shape_str(c.w) + " stride " + std::to_string(c.p.stride[0]) + "," +
         std::to_string(c.p.stride[1]) + " pad " + std::to_string(c.p.padding[0]) + "," +
         std::to_string(c.p.padding[1]) + " dil " + std::to_string(c.p.dilation[0]) + "," +
         std::to_string(c.p.dilation[1]) + " groups " + std::to_string(c.p.groups) + " " + std::string(dtype_name(dt));
}

TEST(Conv2d, MatchesNaiveLoops) {
  for (DType dt : kFloatTypes)
    for (const Case& c : kCases) {
      SCOPED_TRACE(describe(c, dt));
      const Tensor x = rand(c.x, dt, Device::cpu(), 1), w = rand(c.w, dt, Device::cpu(), 2);
      const Tensor b = rand({c.w[0]}, dt, Device::cpu(), 3);
      const ExactSums with_bias = conv_ref(x, w, b, c.p), plain = conv_ref(x, w, Tensor(), c.p);
      for (Device d : test_devices()) {
        SCOPED_TRACE(d.str());
        EXPECT_TRUE(matches(conv2d(x.to(d), w.to(d), b.to(d), c.p), with_bias));
        EXPECT_TRUE(matches(conv2d(x.to(d), w.to(d), Tensor(), c.p), plain));
      }
    }
}

TEST(Conv2d, NonContiguousInputs) {
  const Case& c = kCases[2];
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const Tensor x = rand_strided(c.x, DType::f32, d, 4), w = rand_strided(c.w, DType::f32, d, 5);
    EXPECT_TRUE(matches(conv2d(x, w, Tensor(), c.p), conv_ref(x, w, Tensor(), c.p)));
    const Tensor big = rand({c.x[0], c.x[1] * 2, c.x[2], c.x[3]}, DType::f32, d, 6);
    const Tensor odd = big.slice(1, 1, c.x[1] * 2, 2);  // every other channel
    EXPECT_TRUE(matches(conv2d(odd, w, Tensor(), c.p), conv_ref(odd, w, Tensor(), c.p)));
  }
}

TEST(Conv2d, BackwardInputMatchesNaiveLoops) {
  for (DType dt : kFloatTypes)
    for (const Case& c : kCases) {
      SCOPED_TRACE(describe(c, dt));
      const Tensor dy = rand(conv_out_shape(c.x, c.w, c.p), dt, Device::cpu(), 7), w = rand(c.w, dt, Device::cpu(), 8);
      const ExactSums want = input_grad_ref(dy, w, c.x, c.p);
      for (Device d : test_devices())
        EXPECT_TRUE(matches(conv2d_backward_input(dy.to(d), w.to(d), c.x, c.p), want)) << d.str();
    }
}

TEST(Conv2d, BackwardWeightMatchesNaiveLoops) {
  for (DType dt : kFloatTypes)
    for (const Case& c : kCases) {
      SCOPED_TRACE(describe(c, dt));
      const Tensor dy = rand(conv_out_shape(c.x, c.w, c.p), dt, Device::cpu(), 9), x = rand(c.x, dt, Device::cpu(), 10);
      const ExactSums want = weight_grad_ref(dy, x, c.w, c.p);
      for (Device d : test_devices())
        EXPECT_TRUE(matches(conv2d_backward_weight(dy.to(d), x.to(d), c.w, c.p), want)) << d.str();
    }
}

// Products with enough output tiles that the GPU kernel takes its largest tiles (the cases above all get the
// smallest): the forward pass (M = 128 * 128 pixels, N = 128 channels) and the input gradient (N = 128 channels).
TEST(Conv2d, LargeTiles) {
  const Conv2dParams p = params({1, 1}, {1, 1}, {1, 1}, 1);
  const Shape xs{1, 2, 128, 128}, ws{128, 2, 3, 3}, wts{2, 128, 3, 3}, dxs{1, 128, 128, 128};
  const Tensor x = rand(xs, DType::f32, Device::cpu(), 14), w = rand(ws, DType::f32, Device::cpu(), 15);
  const Tensor dy = rand(xs, DType::f32, Device::cpu(), 16), wt = rand(wts, DType::f32, Device::cpu(), 17);
  const ExactSums y = conv_ref(x, w, Tensor(), p), dx = input_grad_ref(dy, wt, dxs, p);
  for (Device d : test_devices()) {
    EXPECT_TRUE(matches(conv2d(x.to(d), w.to(d), Tensor(), p), y)) << d.str();
    EXPECT_TRUE(matches(conv2d_backward_input(dy.to(d), wt.to(d), dxs, p), dx)) << d.str();
  }
}

TEST(Conv2d, EmptyBatch) {
  for (Device d : test_devices()) {
    EXPECT_EQ(conv2d(rand({0, 3, 5, 5}, DType::f32, d), rand({2, 3, 3, 3}, DType::f32, d)).shape(),
              (Shape{0, 2, 3, 3}));
    const Tensor dw =
        conv2d_backward_weight(rand({0, 2, 3, 3}, DType::f32, d), rand({0, 3, 5, 5}, DType::f32, d), {2, 3, 3, 3});
    EXPECT_CLOSE(dw, std::vector<float>(54, 0.f), tol(DType::f32));
  }
}

TEST(Conv2d, Errors) {
  const Tensor x = rand({1, 4, 5, 5}), w = rand({6, 4, 3, 3});
  EXPECT_GLINT_ERROR(conv2d(rand({4, 5, 5}), w), "[conv2d] input must be 4-D");
  EXPECT_GLINT_ERROR(conv2d(x, rand({6, 3, 3, 3})), "[conv2d] weight (6,3,3,3) expects 3 input channels");
  EXPECT_GLINT_ERROR(conv2d(x, rand({6, 2, 3, 3}), Tensor(), params({1, 1}, {0, 0}, {1, 1}, 3)),
                     "[conv2d] input channels 4 are not a positive multiple of groups 3");
  EXPECT_GLINT_ERROR(conv2d(x, rand({5, 2, 3, 3}), Tensor(), params({1, 1}, {0, 0}, {1, 1}, 2)),
                     "[conv2d] output channels 5 are not divisible by groups 2");
  EXPECT_GLINT_ERROR(conv2d(x, w, rand({5})), "[conv2d] bias (5) does not match 6 output channels");
  EXPECT_GLINT_ERROR(conv2d(x, w, Tensor(), params({0, 1}, {0, 0}, {1, 1}, 1)), "[conv2d] stride must be >= 1");
  EXPECT_GLINT_ERROR(conv2d(x, w, Tensor(), params({1, 1}, {-1, 0}, {1, 1}, 1)), "[conv2d] padding must be >= 0");
  EXPECT_GLINT_ERROR(conv2d(x, w, Tensor(), params({1, 1}, {0, 0}, {3, 1}, 1)),
                     "[conv2d] kernel 3x3 (dilation 3,1) is larger than the padded input 5x5");
  EXPECT_GLINT_ERROR(conv2d(x, rand({6, 4, 3, 3}, DType::f16)), "[conv2d] dtype mismatch: f32 and f16");
  EXPECT_GLINT_ERROR(conv2d(randint({1, 4, 5, 5}, 0, 3), w), "[conv2d] unsupported dtype i64 for input");
  EXPECT_GLINT_ERROR(conv2d_backward_input(rand({1, 6, 4, 4}), w, {1, 4, 5, 5}),
                     "[conv2d_backward_input] grad_out (1,6,4,4) is not the output shape (1,6,3,3)");
  EXPECT_GLINT_ERROR(conv2d_backward_weight(rand({1, 6, 3, 3}), x, {6, 4, 3}),
                     "[conv2d_backward_weight] weight must be 4-D");
  for (Device d : vulkan_devices())
    EXPECT_GLINT_ERROR(conv2d(x.to(d), w), "[conv2d] tensors on different devices: " + d.str() + " and cpu");
}

// torch's nearest source index, computed independently of the library's nearest_source().
int64_t torch_nearest(int64_t i, int64_t in, int64_t out) {
  const float scale = float(in) / float(out);
  return std::min<int64_t>(int64_t(std::floor(float(i) * scale)), in - 1);
}

const std::array<int64_t, 4> kResizes[] = {{3, 5, 6, 10}, {1, 1, 4, 4}, {4, 3, 12, 9}, {7, 5, 10, 13}, {9, 8, 4, 3}};

TEST(Upsample, NearestMatchesTorch) {
  for (DType dt : kFloatTypes)
    for (const auto& r : kResizes) {
      const Tensor x = rand({2, 3, r[0], r[1]}, dt, Device::cpu(), 11);
      const std::vector<float> vx = x.to_f32();
      std::vector<float> want;
      for (int64_t pl = 0; pl < 6; ++pl)
        for (int64_t i = 0; i < r[2]; ++i)
          for (int64_t j = 0; j < r[3]; ++j)
            want.push_back(
                vx[size_t((pl * r[0] + torch_nearest(i, r[0], r[2])) * r[1] + torch_nearest(j, r[1], r[3]))]);
      for (Device d : test_devices()) {
        SCOPED_TRACE(d.str() + " " + std::string(dtype_name(dt)));
        EXPECT_CLOSE(upsample_nearest(x.to(d), r[2], r[3]), want, Tol{0, 0});
        EXPECT_CLOSE(upsample_nearest(rand_strided({2, 3, r[0], r[1]}, dt, d, 12), r[2], r[3]),
                     upsample_nearest(rand_strided({2, 3, r[0], r[1]}, dt, Device::cpu(), 12), r[2], r[3]).to_f32(),
                     Tol{0, 0});
      }
    }
}

TEST(Upsample, IntegerScaleRepeatsPixels) {
  for (Device d : test_devices()) {
    const Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {1, 1, 2, 3}, DType::f32, d);
    EXPECT_CLOSE(upsample_nearest(x, 2), std::vector<float>({1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3,  //
                                                             4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6}),
                 Tol{0, 0});
    EXPECT_EQ(upsample_nearest(x, 3).shape(), (Shape{1, 1, 6, 9}));
  }
}

TEST(Upsample, BackwardSumsTheWindow) {
  for (DType dt : kFloatTypes)
    for (const auto& r : kResizes) {
      const Tensor dy = rand({2, 3, r[2], r[3]}, dt, Device::cpu(), 13);
      const std::vector<float> vdy = dy.to_f32();
      ExactSums want({2, 3, r[0], r[1]});
      for (int64_t pl = 0; pl < 6; ++pl)
        for (int64_t i = 0; i < r[2]; ++i)
          for (int64_t j = 0; j < r[3]; ++j)
            want.add((pl * r[0] + torch_nearest(i, r[0], r[2])) * r[1] + torch_nearest(j, r[1], r[3]),
                     vdy[size_t((pl * r[2] + i) * r[3] + j)]);
      for (Device d : test_devices())
        EXPECT_TRUE(matches(upsample_nearest_backward(dy.to(d), r[0], r[1]), want)) << d.str() << " " << dtype_name(dt);
    }
}

TEST(Upsample, Errors) {
  EXPECT_GLINT_ERROR(upsample_nearest(rand({3, 4, 4}), 2), "[upsample_nearest] input must be 4-D");
  EXPECT_GLINT_ERROR(upsample_nearest(rand({1, 3, 4, 4}), 0), "[upsample_nearest] scale must be >= 1, got 0");
  EXPECT_GLINT_ERROR(upsample_nearest(rand({1, 3, 4, 4}), 0, 5), "[upsample_nearest] output size must be positive");
  EXPECT_GLINT_ERROR(upsample_nearest(rand({1, 3, 0, 4}), 2, 2), "[upsample_nearest] cannot resize an empty image");
  EXPECT_GLINT_ERROR(upsample_nearest_backward(rand({1, 3, 4, 4}), 0, 2),
                     "[upsample_nearest_backward] input size must be positive");
}

}  // namespace
}  // namespace glint::test
