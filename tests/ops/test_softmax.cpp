// Softmax and log-softmax against naive double loops on every device: odd / prime / size-1 / long rows, last and
// non-last dims, non-contiguous views, f32 / f16 / bf16, -inf masking, large logits, NaN, and the errors.
#include <cmath>
#include <limits>

#include "runtime/ops/softmax.h"
#include "tests/harness.h"
#include "tests/ops/rows_ref.h"

namespace glint::test {
namespace {

std::vector<float> reference(const Tensor& x, int dim, bool log) {
  const std::vector<double> v = values(x);
  const RowSplit s(x.shape(), x.ndim() == 0 ? 0 : (dim < 0 ? dim + x.ndim() : dim));
  std::vector<float> out(v.size());
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < s.inner; ++i) {
      double m = -INFINITY, sum = 0;
      for (int64_t r = 0; r < s.len; ++r) {
        const double e = v[s.at(o, r, i)];
        if (!std::isnan(m) && (std::isnan(e) || e > m)) m = e;  // NaN wins: a row holding NaN is all NaN
      }
      for (int64_t r = 0; r < s.len; ++r) sum += std::exp(v[s.at(o, r, i)] - m);
      for (int64_t r = 0; r < s.len; ++r) {
        double e = v[s.at(o, r, i)] - m;
        out[s.at(o, r, i)] = float(log ? e - std::log(sum) : std::exp(e) / sum);
      }
    }
  return out;
}

void check(const Tensor& x, int dim, bool log) {
  SCOPED_TRACE(::testing::Message() << (log ? "log_softmax" : "softmax") << " of " << x.str() << " over dim " << dim);
  Tensor got = log ? log_softmax(x, dim) : softmax(x, dim);
  EXPECT_EQ(got.shape(), x.shape());
  EXPECT_EQ(got.dtype(), x.dtype());
  EXPECT_TRUE(got.is_contiguous());
  EXPECT_CLOSE(got, reference(x, dim, log), tol(x.dtype()));
}

struct Case {
  Shape shape;
  int dim;
};
const Case kCases[] = {{{7}, 0},        {{1}, 0},         {{3, 5}, -1},   {{3, 5}, 0},
                       {{2, 3, 11}, 1}, {{2, 13, 1}, -1}, {{37, 19}, 0},  {{4, 3001}, -1},
                       {{3001, 3}, 0},  {{2, 40, 33}, 1}, {{5, 1, 4}, 1}, {{3, 2, 17}, -1}};

TEST(Softmax, F32ShapesDimsAndViews) {
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    for (const Case& c : kCases)
      for (bool log : {false, true}) {
        check(rand(c.shape, DType::f32, dev, 3, -4.f, 4.f), c.dim, log);
        check(rand_strided(c.shape, DType::f32, dev, 4, -4.f, 4.f), c.dim, log);
      }
  }
}

TEST(Softmax, HalfPrecision) {
  const Case cases[] = {{{3, 5}, -1}, {{2, 3, 11}, 1}, {{4, 3001}, -1}, {{3001, 3}, 0}};
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    for (DType dt : {DType::f16, DType::bf16})
      for (const Case& c : cases)
        for (bool log : {false, true}) {
          check(rand(c.shape, dt, dev, 5, -4.f, 4.f), c.dim, log);
          check(stepped(rand(c.shape, dt, dev, 6, -4.f, 4.f)), c.dim, log);
        }
  }
}

TEST(Softmax, MaskedLargeAndNaNRows) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  // Rows: -inf masking (leading, so a thread starts on -inf), all -inf, logits far beyond exp's range, a NaN.
  std::vector<float> v = {-inf, -inf, 1,     2,    -inf, -inf, -inf, -inf, -inf, -inf,
                          1000, 999,  -1000, 1001, 1000, 0,    1,    nan,  2,    3};
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    for (DType dt : {DType::f32, DType::f16, DType::bf16}) {
      // Beyond exp's range, yet the log-softmax of the smallest (~ -2 * 30000) stays finite in f16.
      if (dt != DType::f32) v[10] = 30000, v[11] = 29999, v[12] = -30000, v[13] = 30001, v[14] = 30000;
      Tensor x = Tensor::from_vector(v, {4, 5}, DType::f32, Device::cpu()).to(dt).to(dev);
      for (bool log : {false, true}) {
        check(x, 1, log);
        check(x.transpose(0, 1).contiguous(), 0, log);
      }
    }
    // Long masked rows: most of the row is -inf, so whole threads see nothing else.
    std::vector<float> longrow(3001, -inf);
    longrow[1500] = 3;
    longrow[2] = 1;
    Tensor l = Tensor::from_vector(longrow, {1, 3001}, DType::f32, dev);
    check(l, 1, false);
    check(l, 1, true);
  }
}

TEST(Softmax, EmptyAndScalar) {
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    EXPECT_EQ(softmax(Tensor::empty({0, 4}, DType::f32, dev), 1).shape(), (Shape{0, 4}));
    EXPECT_EQ(log_softmax(Tensor::empty({3, 0}, DType::f32, dev), 1).shape(), (Shape{3, 0}));
    Tensor s = full({}, 2.5, DType::f32, dev);
    EXPECT_CLOSE(softmax(s, 0), (std::vector<float>{1}), tol(DType::f32));
    EXPECT_CLOSE(log_softmax(s, -1), (std::vector<float>{0}), tol(DType::f32));
  }
}

TEST(Softmax, Errors) {
  EXPECT_GLINT_ERROR(softmax(randint({3}, 0, 5, DType::i32)), "[softmax] needs a floating dtype, got i32");
  EXPECT_GLINT_ERROR(log_softmax(rand({2, 3}), 2), "[log_softmax] dimension 2 out of range for 2-d tensor");
  EXPECT_GLINT_ERROR(softmax(rand({}), 1), "[softmax] dimension 1 out of range for 0-d tensor");
  EXPECT_GLINT_ERROR(softmax(Tensor()), "[softmax] undefined tensor");
}

}  // namespace
}  // namespace glint::test
