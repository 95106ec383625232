// rms_norm (HF LlamaRMSNorm), layer_norm and group_norm (torch) against naive double loops on every device:
// odd / prime / size-1 / long rows, strided inputs, with and without affine parameters, every floating dtype; the
// fused GroupNorm + SiLU against its composite; and the errors.
#include <cmath>

#include "runtime/ops/norm.h"
#include "tests/harness.h"
#include "tests/ops/rows_ref.h"

namespace glint::test {
namespace {

// y for each row of the last dim. HF's RMSNorm rounds x * rsqrt(mean(x²) + eps) to the input dtype before the
// weight multiply; the reference does the same.
std::vector<float> rms_ref(const Tensor& x, const Tensor& w, double eps) {
  const std::vector<double> v = values(x), wv = w.defined() ? values(w) : std::vector<double>{};
  const int64_t len = x.dim(-1);
  std::vector<float> out(v.size());
  for (size_t o = 0; o < v.size(); o += size_t(len)) {
    double ms = 0;
    for (int64_t i = 0; i < len; ++i) ms += v[o + i] * v[o + i];
    const double r = 1 / std::sqrt(ms / double(len) + eps);
    for (int64_t i = 0; i < len; ++i) {
      double t = round_to(x.dtype(), v[o + i] * r);
      out[o + i] = float(w.defined() ? wv[i] * t : t);
    }
  }
  return out;
}

// Mean and 1 / sqrt(biased variance + eps) of v[begin .. begin + n).
std::pair<double, double> moments(const std::vector<double>& v, size_t begin, int64_t n, double eps) {
  double m = 0, q = 0;
  for (int64_t i = 0; i < n; ++i) m += v[begin + i];
  m /= double(n);
  for (int64_t i = 0; i < n; ++i) q += (v[begin + i] - m) * (v[begin + i] - m);
  return {m, 1 / std::sqrt(q / double(n) + eps)};
}

std::vector<float> layer_ref(const Tensor& x, const Tensor& w, const Tensor& b, double eps) {
  const std::vector<double> v = values(x), wv = w.defined() ? values(w) : std::vector<double>{},
                            bv = b.defined() ? values(b) : std::vector<double>{};
  const int64_t len = x.dim(-1);
  std::vector<float> out(v.size());
  for (size_t o = 0; o < v.size(); o += size_t(len)) {
    const auto [m, rstd] = moments(v, o, len, eps);
    for (int64_t i = 0; i < len; ++i)
      out[o + i] = float((v[o + i] - m) * rstd * (w.defined() ? wv[i] : 1) + (b.defined() ? bv[i] : 0));
  }
  return out;
}

double silu(double y) { return y / (1 + std::exp(-y)); }

std::vector<float> group_ref(const Tensor& x, int64_t groups, const Tensor& w, const Tensor& b, double eps) {
  const std::vector<double> v = values(x), wv = w.defined() ? values(w) : std::vector<double>{},
                            bv = b.defined() ? values(b) : std::vector<double>{};
  const int64_t channels = x.dim(1), spatial = x.numel() / (x.dim(0) * channels);
  const int64_t len = channels / groups * spatial;
  std::vector<float> out(v.size());
  for (size_t o = 0; o < v.size(); o += size_t(len)) {
    const auto [m, rstd] = moments(v, o, len, eps);
    for (int64_t i = 0; i < len; ++i) {
      const int64_t c = int64_t(o / size_t(spatial)) % channels + i / spatial;
      out[o + i] = float((v[o + i] - m) * rstd * (w.defined() ? wv[c] : 1) + (b.defined() ? bv[c] : 0));
    }
  }
  return out;
}

const Shape kRowShapes[] = {{7}, {1}, {1, 1}, {3, 5}, {2, 3, 11}, {37, 19}, {4, 3001}, {2, 1, 13}};

// Inputs: contiguous, last two dims transposed (rows strided), and every other element of the last dim.
std::vector<Tensor> inputs(const Shape& shape, DType dt, Device dev, uint64_t seed) {
  return {rand(shape, dt, dev, seed, -2.f, 2.f), rand_strided(shape, dt, dev, seed + 1, -2.f, 2.f),
          stepped(rand(shape, dt, dev, seed + 2, -2.f, 2.f))};
}

TEST(RmsNorm, MatchesHfLlamaRmsNorm) {
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    for (DType dt : {DType::f32, DType::f16, DType::bf16})
      for (const Shape& shape : kRowShapes) {
        Tensor w = rand({shape.back()}, dt, dev, 9, 0.5f, 1.5f);
        for (const Tensor& x : inputs(shape, dt, dev, 10)) {
          SCOPED_TRACE(x.str());
          Tensor y = rms_norm(x, w, 1e-6f);
          EXPECT_EQ(y.shape(), x.shape());
          EXPECT_EQ(y.dtype(), dt);
          EXPECT_CLOSE(y, rms_ref(x, w, 1e-6), tol(dt));
          EXPECT_CLOSE(rms_norm(x, Tensor(), 1e-5f), rms_ref(x, Tensor(), 1e-5), tol(dt));
        }
      }
  }
}

// The CPU's fused backward against the formulas in double: dx = (dn - n mean(dn n)) r with n = x r,
// r = 1 / sqrt(mean(x^2) + eps), dn = g w; dw = sum over rows of g n. Enough rows to split across threads.
TEST(RmsNorm, CpuGradientMatchesReference) {
  const int64_t rows = 300, c = 37;
  const double eps = 1e-5;
  const Tensor x = rand({3, rows / 3, c}, DType::f32, Device::cpu(), 20, -2.f, 2.f);
  const Tensor g = rand({3, rows / 3, c}, DType::f32, Device::cpu(), 21, -1.f, 1.f);
  const Tensor w = rand({c}, DType::f32, Device::cpu(), 22, 0.5f, 1.5f);
  for (bool weighted : {true, false}) {
    SCOPED_TRACE(weighted ? "weight" : "no weight");
    const Tensor xg = x.detach().requires_grad_(), wg = weighted ? w.detach().requires_grad_() : Tensor();
    rms_norm(xg, wg, float(eps)).backward(g);
    const std::vector<float> xv = x.to_f32(), gv = g.to_f32(), wv = w.to_f32();
    std::vector<float> dx(xv.size());
    std::vector<double> dw(size_t(c), 0.0);
    for (int64_t o = 0; o < rows; ++o) {
      const float *xr = xv.data() + o * c, *gr = gv.data() + o * c;
      double ms = 0, dot = 0;
      for (int64_t i = 0; i < c; ++i) ms += double(xr[i]) * xr[i] / double(c);
      const double r = 1 / std::sqrt(ms + eps);
      for (int64_t i = 0; i < c; ++i) dot += gr[i] * (weighted ? wv[i] : 1.0) * xr[i] * r / double(c);
      for (int64_t i = 0; i < c; ++i) {
        dx[size_t(o * c + i)] = float((gr[i] * (weighted ? wv[i] : 1.0) - xr[i] * r * dot) * r);
        dw[size_t(i)] += gr[i] * xr[i] * r;
      }
    }
    EXPECT_CLOSE(xg.grad(), dx, tol(DType::f32));
    if (weighted) EXPECT_CLOSE(wg.grad(), std::vector<float>(dw.begin(), dw.end()), tol(DType::f32));
  }
}

TEST(LayerNorm, MatchesTorch) {
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    for (DType dt : {DType::f32, DType::f16, DType::bf16})
      for (const Shape& shape : kRowShapes) {
        Tensor w = rand({shape.back()}, dt, dev, 11, 0.5f, 1.5f), b = rand({shape.back()}, dt, dev, 12);
        for (const Tensor& x : inputs(shape, dt, dev, 13)) {
          SCOPED_TRACE(x.str());
          EXPECT_CLOSE(layer_norm(x, w, b, 1e-5f), layer_ref(x, w, b, 1e-5), tol(dt));
          EXPECT_CLOSE(layer_norm(x, Tensor(), b, 1e-5f), layer_ref(x, Tensor(), b, 1e-5), tol(dt));
          EXPECT_CLOSE(layer_norm(x, w, Tensor(), 1e-3f), layer_ref(x, w, Tensor(), 1e-3), tol(dt));
        }
      }
  }
}

TEST(Norms, LargeOffsetKeepsItsDigits) {
  // x = 1000 + U[0,1): a variance from E[x²] - E[x]² would be wrong by tens of percent. The mean itself can be off
  // by the f32 accumulation bound (1e-5 of 1000, see test_reduce), which the output carries times rstd (< 4).
  const Tol t{tol(DType::f32).atol + 1e-5 * 1001 * 4, tol(DType::f32).rtol};
  for (Device dev : test_devices()) {
    Tensor x = rand({3, 3001}, DType::f32, dev, 14, 1000.f, 1001.f);
    EXPECT_CLOSE(layer_norm(x, Tensor(), Tensor(), 1e-5f), layer_ref(x, Tensor(), Tensor(), 1e-5), t) << dev.str();
    // The same for group_norm, whose rows here are split across workgroups and their statistics combined.
    Tensor g = rand({1, 6, 4099}, DType::f32, dev, 15, 1000.f, 1001.f);
    EXPECT_CLOSE(group_norm(g, 2, Tensor(), Tensor(), 1e-5f), group_ref(g, 2, Tensor(), Tensor(), 1e-5), t)
        << dev.str();
  }
}

struct GroupCase {
  Shape shape;
  int64_t groups;
};
// Spatial dims of several sizes or none, one group or one channel per group, long rows (2 * 3001), and rows
// long and few enough to be shared by several workgroups on Vulkan (3 * 4099, in 3 splits).
const GroupCase kGroupCases[] = {{{2, 6, 5, 7}, 3}, {{1, 4, 3001}, 2},    {{3, 8}, 4},      {{2, 32, 9}, 32},
                                 {{1, 3, 1, 1}, 1}, {{2, 6, 3, 2, 2}, 2}, {{1, 6, 4099}, 2}};

TEST(GroupNorm, MatchesTorch) {
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    for (DType dt : {DType::f32, DType::f16, DType::bf16})
      for (const GroupCase& c : kGroupCases) {
        const int64_t ch = c.shape[1];
        Tensor w = rand({ch}, dt, dev, 15, 0.5f, 1.5f), b = rand({ch}, dt, dev, 16);
        for (const Tensor& x : {rand(c.shape, dt, dev, 17, -2.f, 2.f), rand_strided(c.shape, dt, dev, 18, -2.f, 2.f)}) {
          SCOPED_TRACE(x.str());
          EXPECT_CLOSE(group_norm(x, c.groups, w, b, 1e-5f), group_ref(x, c.groups, w, b, 1e-5), tol(dt));
          EXPECT_CLOSE(group_norm(x, c.groups, Tensor(), Tensor(), 1e-6f),
                       group_ref(x, c.groups, Tensor(), Tensor(), 1e-6), tol(dt));
        }
      }
  }
}

TEST(GroupNorm, FusedSiluMatchesComposite) {
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    for (DType dt : {DType::f32, DType::f16, DType::bf16})
      for (const GroupCase& c : kGroupCases) {
        Tensor x = rand(c.shape, dt, dev, 19, -3.f, 3.f);
        Tensor w = rand({c.shape[1]}, dt, dev, 20, 0.5f, 1.5f), b = rand({c.shape[1]}, dt, dev, 21);
        // The composite: group_norm, then SiLU of its (rounded) output.
        std::vector<double> plain = values(group_norm(x, c.groups, w, b, 1e-5f));
        std::vector<float> composite(plain.size());
        for (size_t i = 0; i < plain.size(); ++i) composite[i] = float(silu(plain[i]));
        EXPECT_CLOSE(group_norm(x, c.groups, w, b, 1e-5f, true), composite, tol(dt));
      }
  }
}

TEST(Norms, EmptyInputs) {
  for (Device dev : test_devices()) {
    EXPECT_EQ(rms_norm(Tensor::empty({0, 4}, DType::f32, dev), Tensor(), 1e-6f).shape(), (Shape{0, 4}));
    EXPECT_EQ(layer_norm(Tensor::empty({3, 0}, DType::f32, dev), Tensor(), Tensor(), 1e-5f).shape(), (Shape{3, 0}));
    EXPECT_EQ(group_norm(Tensor::empty({0, 4, 3}, DType::f32, dev), 2, Tensor(), Tensor(), 1e-5f).shape(),
              (Shape{0, 4, 3}));
  }
}

TEST(Norms, Errors) {
  Tensor x = rand({2, 4});
  EXPECT_GLINT_ERROR(rms_norm(x, rand({5}), 1e-6f), "[rms_norm] weight has shape (5), expected (4)");
  EXPECT_GLINT_ERROR(layer_norm(x, rand({4}), rand({4}, DType::f16), 1e-5f),
                     "[layer_norm] dtype mismatch: f32 and f16");
  EXPECT_GLINT_ERROR(layer_norm(x, Tensor(), rand({2, 2}), 1e-5f), "[layer_norm] bias has shape (2,2), expected (4)");
  EXPECT_GLINT_ERROR(rms_norm(randint({2, 4}, 0, 3, DType::i32), Tensor(), 1e-6f),
                     "[rms_norm] needs a floating dtype, got i32");
  EXPECT_GLINT_ERROR(rms_norm(rand({}), Tensor(), 1e-6f), "[rms_norm] input needs at least 1 dims, got ()");
  EXPECT_GLINT_ERROR(group_norm(rand({2, 6, 3}), 4, Tensor(), Tensor(), 1e-5f),
                     "[group_norm] 6 channels are not divisible by 4 groups");
  EXPECT_GLINT_ERROR(group_norm(rand({6}), 2, Tensor(), Tensor(), 1e-5f), "[group_norm] input needs at least 2 dims");
  EXPECT_GLINT_ERROR(group_norm(rand({2, 6}), 0, Tensor(), Tensor(), 1e-5f),
                     "[group_norm] 6 channels are not divisible");
  EXPECT_GLINT_ERROR(group_norm(rand({2, 6}), 3, rand({3}), Tensor(), 1e-5f), "[group_norm] weight has shape (3)");
  for (Device dev : vulkan_devices())
    EXPECT_GLINT_ERROR(rms_norm(rand({2, 4}, DType::f32, dev), rand({4}), 1e-6f),
                       "[rms_norm] tensors on different devices: " + dev.str() + " and cpu");
}

}  // namespace
}  // namespace glint::test
