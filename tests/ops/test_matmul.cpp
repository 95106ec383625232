// matmul and linear on every device against a naive double-precision product written here.
//
// Error bound. Inputs are exact in their dtype and every backend accumulates their products in f32, so by the
// standard bound for a dot product (Higham, "Accuracy and Stability of Numerical Algorithms", 3.1) the f32 result
// is within gamma_n * sum_k |a_ik| |b_kj| of the exact one, gamma_n ~ n * u32 for n = K terms (+1 for the bias),
// u32 = 2^-24, whatever the summation order (sequential, blocked, tree). The result is then rounded once to the
// output dtype, adding u_out * |value| (u_out = 2^-24 f32, 2^-11 f16, 2^-8 bf16). The bound is per element, from
// the same sum of magnitudes the reference computes, so it is tight where it matters: near-cancelling sums.
#include <cmath>
#include <functional>

#include "runtime/ops/matmul.h"
#include "tests/harness.h"
#include "tests/ops/exact_sums.h"

namespace glint::test {
namespace {

using Maker = std::function<Tensor(Device)>;

// torch.matmul written out directly: vectors promoted, batch dims broadcast right-aligned, optional bias (N).
ExactSums reference(const Tensor& a, const Tensor& b, const Tensor& bias = {}) {
  Shape sa = a.shape(), sb = b.shape();
  if (sa.size() == 1) sa.insert(sa.begin(), 1);
  if (sb.size() == 1) sb.push_back(1);
  const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  const size_t nbatch = std::max(sa.size(), sb.size()) - 2;
  Shape batch(nbatch);
  auto batch_dim = [&](const Shape& s, size_t i) {  // size of batch dim i of s, right-aligned, 1 when absent
    const size_t lead = nbatch - (s.size() - 2);
    return i < lead ? int64_t(1) : s[i - lead];
  };
  for (size_t i = 0; i < nbatch; ++i) batch[i] = std::max(batch_dim(sa, i), batch_dim(sb, i));
  const std::vector<float> va = a.to_f32(), vb = b.to_f32();
  const std::vector<float> vbias = bias.defined() ? bias.to_f32() : std::vector<float>(size_t(n), 0.f);
  ExactSums r;
  r.shape = batch;
  if (a.ndim() > 1) r.shape.push_back(m);
  if (b.ndim() > 1) r.shape.push_back(n);
  const int64_t count = numel_of(batch);
  for (int64_t z = 0; z < count; ++z) {
    int64_t oa = 0, ob = 0, ma = 1, mb = 1, rem = z;  // flat matrix index of a and b for batch entry z
    for (size_t i = nbatch; i-- > 0;) {
      const int64_t j = rem % batch[i];
      rem /= batch[i];
      const int64_t da = batch_dim(sa, i), db = batch_dim(sb, i);
      oa += (da == 1 ? 0 : j) * ma, ob += (db == 1 ? 0 : j) * mb;
      ma *= da, mb *= db;
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = vbias[size_t(j)], mag = std::fabs(s);
        for (int64_t l = 0; l < k; ++l) {
          const double p = double(va[size_t((oa * m + i) * k + l)]) * double(vb[size_t((ob * k + l) * n + j)]);
          s += p, mag += std::fabs(p);
        }
        r.value.push_back(s);
        r.magnitude.push_back(mag);
        r.terms.push_back(k);
      }
  }
  return r;
}

// matmul(a, b) on every device against the reference, with the operands built on that device (so views stay views).
void check(const Maker& a, const Maker& b) {
  const ExactSums want = reference(a(Device::cpu()), b(Device::cpu()));
  for (Device d : test_devices()) EXPECT_TRUE(matches(matmul(a(d), b(d)), want)) << "on " << d.str();
}

Maker rnd(Shape s, DType dt = DType::f32, uint64_t seed = 1) {
  return [=](Device d) { return rand(s, dt, d, seed); };
}

const DType kFloatTypes[] = {DType::f32, DType::f16, DType::bf16};

TEST(Matmul, Shapes2D) {
  const Shape mkn[] = {{1, 1, 1}, {2, 3, 4}, {37, 41, 53}, {9, 1, 9}, {65, 19, 130}, {33, 70, 31}, {1, 17, 40}};
  for (DType dt : kFloatTypes)
    for (const Shape& s : mkn) {
      SCOPED_TRACE(shape_str(s) + " " + std::string(dtype_name(dt)));
      check(rnd({s[0], s[1]}, dt, 1), rnd({s[1], s[2]}, dt, 2));
    }
}

TEST(Matmul, EmptyDims) {
  for (Device d : test_devices()) {
    Tensor z = matmul(rand({3, 0}, DType::f32, d), rand({0, 4}, DType::f32, d));  // K = 0: zeros
    EXPECT_EQ(z.shape(), (Shape{3, 4}));
    EXPECT_CLOSE(z, std::vector<float>(12, 0.f), tol(DType::f32));
    EXPECT_EQ(matmul(rand({0, 5}, DType::f32, d), rand({5, 4}, DType::f32, d)).shape(), (Shape{0, 4}));
    EXPECT_EQ(matmul(rand({3, 5}, DType::f16, d), rand({5, 0}, DType::f16, d)).shape(), (Shape{3, 0}));
    EXPECT_EQ(matmul(rand({0, 3, 5}, DType::f32, d), rand({5, 2}, DType::f32, d)).shape(), (Shape{0, 3, 2}));
    Tensor e = matmul(rand({0}, DType::f32, d), rand({0}, DType::f32, d));  // empty dot product
    EXPECT_EQ(e.shape(), Shape{});
    EXPECT_EQ(e.to_f32()[0], 0.f);
  }
}

TEST(Matmul, Vectors) {
  check(rnd({7}), rnd({7}, DType::f32, 2));        // dot: 0-d result
  check(rnd({7}), rnd({7, 5}, DType::f32, 2));     // (5)
  check(rnd({5, 7}), rnd({7}, DType::f32, 2));     // (5)
  check(rnd({7}), rnd({3, 7, 5}, DType::f32, 2));  // (3, 5)
  check(rnd({3, 5, 7}), rnd({7}, DType::f32, 2));  // (3, 5)
  check(rnd({300}, DType::bf16), rnd({300}, DType::bf16, 2));
}

TEST(Matmul, BatchBroadcast) {
  check(rnd({3, 1, 5, 7}), rnd({2, 7, 4}, DType::f32, 2));
  check(rnd({2, 5, 7}), rnd({7, 4}, DType::f32, 2));  // b shared: folded into one (10, 7) @ (7, 4)
  check(rnd({5, 7}), rnd({3, 7, 4}, DType::f32, 2));  // a shared
  check(rnd({1, 5, 7}), rnd({3, 7, 4}, DType::f32, 2));
  check(rnd({2, 1, 3, 1, 4, 6}, DType::f16), rnd({3, 2, 6, 5}, DType::f16, 2));  // 4 batch dims, broadcast inside
  // Five batch dims that do not merge: more than the Vulkan kernels index, so dispatched in parts.
  check(rnd({2, 1, 2, 1, 2, 9, 4}), rnd({2, 1, 2, 1, 4, 10}, DType::f32, 2));
  check(rnd({2, 1, 2, 1, 2, 3, 4}), rnd({2, 1, 2, 1, 4, 10}, DType::f32, 2));
}

TEST(Matmul, TransposedViews) {
  // Column-major operands (stride 1 along rows, padded leading dim) are read in place; every combination.
  auto row_major = [](Shape s, uint64_t seed) -> Maker { return rnd(s, DType::f32, seed); };
  auto col_major = [](Shape s, uint64_t seed) -> Maker {
    return [=](Device d) { return rand_strided(s, DType::f32, d, seed); };
  };
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      SCOPED_TRACE(std::to_string(ta) + std::to_string(tb));
      check(ta ? col_major({13, 29}, 1) : row_major({13, 29}, 1), tb ? col_major({29, 11}, 2) : row_major({29, 11}, 2));
      check(ta ? col_major({2, 40, 29}, 1) : row_major({2, 40, 29}, 1),
            tb ? col_major({2, 29, 70}, 2) : row_major({2, 29, 70}, 2));
    }
  // A plain transpose of a contiguous tensor, and a view with no unit stride at all (copied by the op).
  check([](Device d) { return rand({9, 12}, DType::bf16, d).transpose(0, 1); }, rnd({9, 5}, DType::bf16, 2));
  check([](Device d) { return rand({6, 22}, DType::f32, d).slice(1, 0, 22, 2); }, rnd({11, 5}, DType::f32, 2));
}

TEST(Matmul, NonContiguousBatch) {
  // (M, B, K) seen as (B, M, K): batch stride K, row stride B*K, so the rows cannot be folded into one matrix.
  check([](Device d) { return rand({6, 3, 10}, DType::f32, d).transpose(0, 1); }, rnd({10, 7}, DType::f32, 2));
  // Every other matrix of a batch, with b a broadcast transposed view.
  check(
      [](Device d) {
        return rand({6, 5, 8}, DType::f16, d).slice(0, 0, 6, 2);
      },
      [](Device d) {
        return rand({1, 9, 8}, DType::f16, d, 2).transpose(1, 2);
      });
}

TEST(Matmul, TileConfigurations) {
  // Shapes that give the Vulkan GEMM enough workgroups for its 64- and 128-wide tiles, with ragged edges.
  check(rnd({8, 250, 24}), rnd({8, 24, 260}, DType::f32, 2));
  check(rnd({32, 250, 20}), rnd({20, 260}, DType::f32, 2));
}

TEST(Matmul, VectorLoads) {
  // Rows padded to a multiple of 4 elements: the GEMM reads its tiles 4 at a time, and the ragged K and N edges
  // (37, 69) end in partial groups read element by element.
  for (DType dt : kFloatTypes) {
    SCOPED_TRACE(std::string(dtype_name(dt)));
    check(
        [=](Device d) {
          return rand({2, 70, 40}, dt, d).slice(-1, 0, 37);
        },
        [=](Device d) {
          return rand({2, 37, 72}, dt, d, 2).slice(-1, 0, 69);
        });
    check(
        [=](Device d) {
          return rand({33, 24}, dt, d).slice(1, 0, 21).transpose(0, 1);
        },  // column-major
        [=](Device d) {
          return rand({38, 36}, dt, d, 2).slice(1, 0, 33).transpose(0, 1);
        });
  }
}

TEST(Matmul, MatvecShapes) {
  // Few rows (the decode step): weight-layout b (N, K)^T, K long and not a multiple of 4, N odd.
  for (int64_t m = 1; m <= 8; ++m) {
    SCOPED_TRACE(m);
    check(rnd({m, 515}), [](Device d) { return rand({37, 515}, DType::f32, d, 2).transpose(0, 1); });
  }
  for (DType dt : kFloatTypes) {
    SCOPED_TRACE(std::string(dtype_name(dt)));
    // Aligned for vector loads, enough columns for 2 and 4 per subgroup.
    check(rnd({1, 1024}, dt), [=](Device d) { return rand({2050, 1024}, dt, d, 2).transpose(0, 1); });
    check(rnd({3, 512}, dt), [=](Device d) { return rand({600, 512}, dt, d, 2).transpose(0, 1); });
    // b row-major (K, N): columns owned by threads, K split across the workgroup; vector and ragged column groups.
    check(rnd({2, 300}, dt), rnd({300, 150}, dt, 2));
    check(rnd({1, 77}, dt), rnd({77, 33}, dt, 2));
  }
  // Misaligned start (no vector loads), batched matvec, and few columns (handled as the transposed problem).
  check(rnd({2, 256}), [](Device d) { return rand({40, 257}, DType::f32, d, 2).slice(1, 1, 257).transpose(0, 1); });
  check(rnd({3, 2, 96}), rnd({3, 96, 20}, DType::f32, 2));
  check(rnd({300, 64}), rnd({64, 3}, DType::f32, 2));
  check(rnd({2, 40, 64}, DType::f16), rnd({64, 1}, DType::f16, 2));
}

TEST(Linear, WithAndWithoutBias) {
  struct Case {
    Shape x;
    int64_t out;
    DType dt;
  };
  const Case cases[] = {{{4, 7}, 5, DType::f32},        {{2, 3, 7}, 5, DType::f32},
                        {{7}, 5, DType::f32},           {{1, 256}, 300, DType::f16},  // decode: matvec with bias
                        {{300, 64}, 3, DType::bf16},     // few outputs: transposed matvec, bias along rows
                        {{2, 33, 40}, 70, DType::bf16},  // GEMM with bias
                        {{3, 0, 5}, 4, DType::f32}};
  for (const Case& c : cases)
    for (bool with_bias : {false, true}) {
      SCOPED_TRACE(shape_str(c.x) + (with_bias ? " bias" : ""));
      const int64_t in = c.x.back();
      auto w = [&](Device d) { return rand({c.out, in}, c.dt, d, 2); };
      auto bias = [&](Device d) { return with_bias ? rand({c.out}, c.dt, d, 3) : Tensor(); };
      const ExactSums want = reference(rand(c.x, c.dt), w(Device::cpu()).transpose(0, 1), bias(Device::cpu()));
      for (Device d : test_devices())
        EXPECT_TRUE(matches(linear(rand(c.x, c.dt, d), w(d), bias(d)), want)) << "on " << d.str();
    }
  for (Device d : test_devices()) {  // K = 0: the bias alone
    Tensor y = linear(rand({2, 0}, DType::f32, d), rand({3, 0}, DType::f32, d), full({3}, 1.5, DType::f32, d));
    EXPECT_CLOSE(y, std::vector<float>(6, 1.5f), tol(DType::f32));
  }
}

TEST(Matmul, Errors) {
  Tensor a = rand({4, 8}), b = rand({7, 3});
  EXPECT_GLINT_ERROR(matmul(a, b), "[matmul] inner dimensions differ: (4,8) @ (7,3)");
  EXPECT_GLINT_ERROR(matmul(rand({4, 7}), rand({7, 3}, DType::f16)), "[matmul] dtype mismatch: f32 and f16");
  EXPECT_GLINT_ERROR(matmul(rand({}), rand({3})), "[matmul] 0-d operand");
  EXPECT_GLINT_ERROR(matmul(rand({2, 4, 7}), rand({3, 7, 3})), "[matmul] batch dimensions do not broadcast");
  EXPECT_GLINT_ERROR(matmul(randint({2, 2}, 0, 3), randint({2, 2}, 0, 3)), "[matmul] unsupported dtype i64");
  EXPECT_GLINT_ERROR(matmul(Tensor(), b), "[matmul] a is an undefined tensor");
  EXPECT_GLINT_ERROR(linear(rand({2, 5}), rand({3, 4})), "[linear] x (2,5) has 5 features but weight (3,4) takes 4");
  EXPECT_GLINT_ERROR(linear(rand({2, 4}), rand({3, 4}), rand({4})), "[linear] bias (4) does not match");
  EXPECT_GLINT_ERROR(linear(rand({2, 4}), rand({4})), "[linear] weight must be 2-D");
  for (Device d : vulkan_devices()) {
    EXPECT_GLINT_ERROR(matmul(rand({4, 7}), rand({7, 3}, DType::f32, d)),
                       "[matmul] tensors on different devices: cpu and " + d.str());
    EXPECT_GLINT_ERROR(linear(rand({2, 4}, DType::f32, d), rand({3, 4}, DType::f32, d), rand({3})),
                       "[linear] tensors on different devices");
  }
}

}  // namespace
}  // namespace glint::test
