// Reductions against naive double loops, on every device: all ops over odd / prime / size-1 / long (> 1024, and
// long enough to be split across workgroups) dims, last and non-last dims, non-contiguous views, every dtype.
#include <cmath>
#include <limits>

#include "runtime/ops/reduce.h"
#include "tests/harness.h"
#include "tests/ops/rows_ref.h"

namespace glint::test {
namespace {

const ReduceOp kAllOps[] = {ReduceOp::sum, ReduceOp::mean,   ReduceOp::max,
                            ReduceOp::min, ReduceOp::argmax, ReduceOp::var};
const DType kFloatTypes[] = {DType::f32, DType::f16, DType::bf16};

Tensor apply(ReduceOp op, const Tensor& x, int dim, bool keepdim = false, int64_t correction = 1) {
  switch (op) {
    case ReduceOp::sum:
      return sum(x, dim, keepdim);
    case ReduceOp::mean:
      return mean(x, dim, keepdim);
    case ReduceOp::max:
      return max(x, dim, keepdim);
    case ReduceOp::min:
      return min(x, dim, keepdim);
    case ReduceOp::argmax:
      return argmax(x, dim, keepdim);
    case ReduceOp::var:
      return var(x, dim, correction, keepdim);
  }
  return {};
}

// The naive result of op over `dim`, and the scale of what was accumulated per row (the largest, over rows, of
// sum |term| / divisor): the rounding error of an f32 accumulation is bounded by that scale times a small multiple
// of f32's epsilon, whatever the order of the additions, while the result itself may be near 0 by cancellation.
struct Ref {
  std::vector<float> want;
  double scale = 0;
};

Ref reference(const Tensor& x, int dim, ReduceOp op, int64_t correction = 1) {
  const std::vector<double> v = values(x);
  const RowSplit s(x.shape(), dim < 0 ? dim + x.ndim() : dim);
  Ref ref;
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < s.inner; ++i) {
      double acc = 0, abs = 0;
      int64_t best = 0;
      for (int64_t r = 0; r < s.len; ++r) {
        double e = v[s.at(o, r, i)], b = v[s.at(o, best, i)];
        acc += e;
        abs += std::fabs(e);
        bool wins = std::isnan(e) ? !std::isnan(b) : !std::isnan(b) && (op == ReduceOp::min ? e < b : e > b);
        if (wins) best = r;
      }
      double out = acc;
      if (op == ReduceOp::mean) out = acc / double(s.len), abs /= double(s.len);
      if (op == ReduceOp::max || op == ReduceOp::min) out = v[s.at(o, best, i)];
      if (op == ReduceOp::argmax) out = double(best);
      if (op == ReduceOp::var) {
        double m = acc / double(s.len), q = 0;
        for (int64_t r = 0; r < s.len; ++r) q += (v[s.at(o, r, i)] - m) * (v[s.at(o, r, i)] - m);
        out = q / double(std::max<int64_t>(0, s.len - correction));
        abs = out;
      }
      ref.want.push_back(float(out));
      ref.scale = std::max(ref.scale, abs);
    }
  return ref;
}

// f32 accumulation is within 1e-5 (~168 ulp) of the accumulated magnitude: the kernels' longest chain of
// dependent additions is len / 256 + 16 on Vulkan and far shorter on the CPU, so this holds for rows up to ~38000.
constexpr double kAccumulationRel = 1e-5;

void check(ReduceOp op, const Tensor& x, int dim, int64_t correction = 1) {
  SCOPED_TRACE(::testing::Message() << reduce_op_name(op) << " of " << x.str() << " over dim " << dim);
  const Ref ref = reference(x, dim, op, correction);
  const Tensor got = apply(op, x, dim, false, correction);
  Shape shape = x.shape();
  shape.erase(shape.begin() + (dim < 0 ? dim + x.ndim() : dim));
  EXPECT_EQ(got.shape(), shape);
  const bool index_or_int = op == ReduceOp::argmax || !is_floating(x.dtype());
  EXPECT_EQ(got.dtype(), index_or_int && op != ReduceOp::max && op != ReduceOp::min ? DType::i64 : x.dtype());
  EXPECT_EQ(got.device(), x.device());
  Tol t = tol(got.dtype());
  if (op == ReduceOp::sum || op == ReduceOp::mean || op == ReduceOp::var) t.atol += kAccumulationRel * ref.scale;
  EXPECT_CLOSE(got, ref.want, t);
}

struct Case {
  Shape shape;
  int dim;
};
// Last and non-last dims; sizes 1, odd, prime; rows longer than a workgroup (3001) along either dim; a row long
// and alone enough to be split across workgroups (9001).
const Case kCases[] = {{{7}, 0},        {{1}, 0},        {{3, 5}, -1},     {{3, 5}, 0},
                       {{2, 3, 11}, 1}, {{2, 13, 1}, 2}, {{5, 1, 4}, 1},   {{37, 19}, 0},
                       {{4, 3001}, -1}, {{3001, 3}, 0},  {{2, 40, 33}, 1}, {{3, 9001}, 1}};

TEST(Reduce, AllOpsF32ContiguousAndStrided) {
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    for (const Case& c : kCases) {
      Tensor dense = rand(c.shape, DType::f32, dev, 7);
      Tensor strided = rand_strided(c.shape, DType::f32, dev, 8);
      for (ReduceOp op : kAllOps) {
        check(op, dense, c.dim);
        check(op, strided, c.dim);
      }
    }
  }
}

TEST(Reduce, HalfPrecisionAccumulatesInF32) {
  const Case cases[] = {{{3, 5}, -1}, {{2, 3, 11}, 1}, {{4, 3001}, -1}, {{3001, 3}, 0}, {{3, 9001}, 1}};
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    for (DType dt : {DType::f16, DType::bf16})
      for (const Case& c : cases) {
        Tensor x = rand(c.shape, dt, dev, 3);
        for (ReduceOp op : kAllOps) check(op, x, c.dim);
        check(ReduceOp::sum, stepped(x), c.dim);
      }
  }
}

TEST(Reduce, IntegersSumToI64) {
  const Case cases[] = {{{7}, 0}, {{3, 5}, -1}, {{37, 19}, 0}, {{4, 3001}, -1}, {{3, 9001}, 1}};
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    for (DType dt : {DType::i32, DType::i64, DType::u8, DType::i8})
      for (const Case& c : cases) {
        Tensor x = randint(c.shape, dt == DType::u8 ? 0 : -100, 100, dt, dev, 5);
        for (ReduceOp op : {ReduceOp::sum, ReduceOp::max, ReduceOp::min, ReduceOp::argmax}) check(op, x, c.dim);
      }
  }
}

TEST(Reduce, I64SumsAreExactBeyondF32) {
  const int64_t big = (int64_t(1) << 40) + 1;  // not representable in f32
  for (Device dev : test_devices()) {
    Tensor x = Tensor::from_vector(std::vector<int64_t>{big, 3, big, -5}, {2, 2}, DType::i64, dev);
    EXPECT_EQ(sum(x, 0).to_vector<int64_t>(), (std::vector<int64_t>{2 * big, -2})) << dev.str();
    EXPECT_EQ(max(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{big, big})) << dev.str();
    EXPECT_EQ(sum_all(x).to_vector<int64_t>(), (std::vector<int64_t>{2 * big - 2})) << dev.str();
  }
}

TEST(Reduce, KeepdimNegativeDimAndScalars) {
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    Tensor x = rand({2, 3, 4}, DType::f32, dev, 11);
    Tensor k = sum(x, -2, true);
    EXPECT_EQ(k.shape(), (Shape{2, 1, 4}));
    EXPECT_CLOSE(k.squeeze(1), sum(x, 1), Tol{0, 0});
    EXPECT_EQ(argmax(x, 0, true).shape(), (Shape{1, 3, 4}));
    Tensor s = full({}, 2.5, DType::f32, dev);
    EXPECT_EQ(sum(s, 0).ndim(), 0);
    EXPECT_CLOSE(max(s, -1, true), (std::vector<float>{2.5f}), Tol{0, 0});
    EXPECT_CLOSE(argmax(s, 0), (std::vector<float>{0}), Tol{0, 0});
  }
}

TEST(Reduce, EmptyDims) {
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    Tensor x = Tensor::empty({3, 0}, DType::f32, dev);
    EXPECT_CLOSE(sum(x, 1), (std::vector<float>{0, 0, 0}), Tol{0, 0});
    EXPECT_CLOSE(sum(Tensor::empty({2, 0}, DType::i32, dev), 1), (std::vector<float>{0, 0}), Tol{0, 0});
    const float nan = std::numeric_limits<float>::quiet_NaN();
    EXPECT_CLOSE(mean(x, 1), (std::vector<float>{nan, nan, nan}), Tol{0, 0});
    EXPECT_CLOSE(var(x, 1), (std::vector<float>{nan, nan, nan}), Tol{0, 0});
    // An empty output needs no reduction at all, even for max.
    EXPECT_EQ(max(x, 0).shape(), (Shape{0}));
    EXPECT_EQ(sum(Tensor::empty({0, 4}, DType::f32, dev), 1).shape(), (Shape{0}));
    EXPECT_CLOSE(sum_all(x), (std::vector<float>{0}), Tol{0, 0});
    EXPECT_GLINT_ERROR(max(x, 1), "[max] cannot reduce an empty dimension");
    EXPECT_GLINT_ERROR(min(x, 1), "[min] cannot reduce an empty dimension");
    EXPECT_GLINT_ERROR(argmax(x, -1), "[argmax] cannot reduce an empty dimension");
  }
}

TEST(Reduce, NaNWinsAndArgmaxTakesTheFirstIndex) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  // Rows: ties at the maximum, NaN in the middle, all -inf, two NaNs.
  std::vector<float> v = {1,    5,    5,    2,    5,    0,    3, nan, 9, -1,  2, 9,
                          -inf, -inf, -inf, -inf, -inf, -inf, 4, nan, 4, nan, 7, 7};
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    for (DType dt : kFloatTypes) {
      Tensor x = Tensor::from_vector(v, {4, 6}, DType::f32, Device::cpu()).to(dt).to(dev);
      EXPECT_CLOSE(argmax(x, 1), (std::vector<float>{1, 1, 0, 1}), Tol{0, 0});
      EXPECT_CLOSE(max(x, 1), (std::vector<float>{5, nan, -inf, nan}), Tol{0, 0});
      EXPECT_CLOSE(min(x, 1), (std::vector<float>{0, nan, -inf, nan}), Tol{0, 0});
      EXPECT_CLOSE(sum(x, 1), (std::vector<float>{18, nan, -inf, nan}), Tol{0, 0});
      // The same along a non-last dim, where rows are walked side by side.
      EXPECT_CLOSE(argmax(x.transpose(0, 1).contiguous(), 0), (std::vector<float>{1, 1, 0, 1}), Tol{0, 0});
    }
    // Long rows, so that the tie and the NaN sit in different threads' ranges.
    std::vector<float> longrow(3001, 0.f);
    longrow[2999] = longrow[700] = 4;
    Tensor l = Tensor::from_vector(longrow, {1, 3001}, DType::f32, dev);
    EXPECT_CLOSE(argmax(l, 1), (std::vector<float>{700}), Tol{0, 0});
    longrow[2000] = nan;
    longrow[2500] = nan;
    l = Tensor::from_vector(longrow, {1, 3001}, DType::f32, dev);
    EXPECT_CLOSE(argmax(l, 1), (std::vector<float>{2000}), Tol{0, 0});
    EXPECT_CLOSE(max(l, 1), (std::vector<float>{nan}), Tol{0, 0});
  }
}

TEST(Reduce, VarCorrectionAndStability) {
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    Tensor x = rand({5, 17}, DType::f32, dev, 21);
    for (int64_t c : {0, 1, 2}) check(ReduceOp::var, x, 1, c);
    // n - correction <= 0: 0 / 0 is NaN for a constant row, positive / 0 is inf (torch's behaviour).
    Tensor two = Tensor::from_vector(std::vector<float>{1, 1, 1, 3}, {2, 2}, DType::f32, dev);
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    EXPECT_CLOSE(var(two, 1, 2), (std::vector<float>{nan, inf}), Tol{0, 0});
    EXPECT_CLOSE(var(Tensor::from_vector(std::vector<float>{4}, {1}, DType::f32, dev), 0), (std::vector<float>{nan}),
                 Tol{0, 0});
    // A large common offset: E[x²] - E[x]² would lose every digit here, two passes keep them.
    Tensor shifted = rand({3, 3001}, DType::f32, dev, 22, 1000.f, 1001.f);
    check(ReduceOp::var, shifted, 1);
    check(ReduceOp::var, shifted.transpose(0, 1).contiguous(), 0);
  }
}

TEST(Reduce, SumAll) {
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    for (DType dt : kFloatTypes) {
      // Contiguous (one row, split across workgroups when long), transposed, stepped, 0-d, size-1.
      for (Tensor x : {rand({50001}, dt, dev, 1), rand({7, 13}, dt, dev, 2), rand_strided({3001, 5}, dt, dev, 3),
                       rand_strided({2, 3, 11}, dt, dev, 4), stepped(rand({4, 9}, dt, dev, 5)), rand({}, dt, dev, 6),
                       rand({1, 1}, dt, dev, 7)}) {
        SCOPED_TRACE(x.str());
        Ref ref = reference(x.reshape({-1}), 0, ReduceOp::sum);
        Tensor got = sum_all(x);
        EXPECT_EQ(got.ndim(), 0);
        EXPECT_EQ(got.dtype(), dt);
        Tol t = tol(dt);
        t.atol += kAccumulationRel * ref.scale;
        EXPECT_CLOSE(got, ref.want, t);
      }
    }
    for (DType dt : {DType::i32, DType::u8}) {
      Tensor x = randint({37, 301}, 0, 100, dt, dev, 9).transpose(0, 1);
      Tensor got = sum_all(x);
      EXPECT_EQ(got.dtype(), DType::i64);
      EXPECT_CLOSE(got, reference(x.reshape({-1}), 0, ReduceOp::sum).want, Tol{0, 0});
    }
  }
}

TEST(Reduce, Errors) {
  Tensor x = rand({2, 3});
  EXPECT_GLINT_ERROR(sum(x, 2), "[sum] dimension 2 out of range for 2-d tensor");
  EXPECT_GLINT_ERROR(argmax(x, -3), "[argmax] dimension -3 out of range");
  EXPECT_GLINT_ERROR(mean(randint({3}, 0, 5, DType::i32), 0), "[mean] needs a floating dtype, got i32");
  EXPECT_GLINT_ERROR(var(randint({3}, 0, 5, DType::i64), 0), "[var] needs a floating dtype, got i64");
  EXPECT_GLINT_ERROR(sum(Tensor(), 0), "[sum] undefined tensor");
  EXPECT_GLINT_ERROR(sum_all(Tensor()), "[sum_all] undefined tensor");
}

}  // namespace
}  // namespace glint::test
