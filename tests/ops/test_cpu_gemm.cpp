// The CPU backend's sgemm (runtime/cpu/gemm.h) against a double-precision product written here, on shapes that cross
// every blocking edge of the AVX-512 kernel (tiles of 12 x 32, 256-deep k blocks, 288-row and 2048-column blocks,
// and the few-rows path for m <= 16 with a transposed b: 8 rows of b a step, 16 lanes of a),
// both transposes, alpha / beta, padded leading dims, and across thread counts. Error bound as test_matmul.cpp's:
// |got - exact| <= gamma_{k+2} * (|alpha| * sum_l |a_il b_lj| + |beta c_ij|), gamma_n = n u / (1 - n u), u = 2^-24.
#include <omp.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "runtime/core/dtype.h"
#include "runtime/cpu/gemm.h"
#include "tests/harness.h"

namespace glint::test {
namespace {

struct Case {
  int64_t m, n, k;
  bool ta, tb;
  float alpha, beta;
};

// Storage of op(x) (rows x cols) with a padded leading dim: (rows, cols) as given, or (cols, rows) when transposed.
struct Stored {
  std::vector<float> data;
  int64_t ld;
  bool trans;
  float at(int64_t r, int64_t c) const { return trans ? data[size_t(c * ld + r)] : data[size_t(r * ld + c)]; }
};

Stored make_stored(int64_t rows, int64_t cols, bool trans, std::mt19937& gen) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  const int64_t outer = trans ? cols : rows, ld = (trans ? rows : cols) + 3;
  Stored s{std::vector<float>(size_t(outer * ld)), ld, trans};
  for (float& v : s.data) v = u(gen);
  return s;
}

void check(const Case& t) {
  SCOPED_TRACE(testing::Message() << "m=" << t.m << " n=" << t.n << " k=" << t.k << " ta=" << t.ta << " tb=" << t.tb
                                  << " alpha=" << t.alpha << " beta=" << t.beta);
  std::mt19937 gen(uint32_t(t.m * 131 + t.n * 7 + t.k));
  const Stored a = make_stored(t.m, t.k, t.ta, gen), b = make_stored(t.k, t.n, t.tb, gen);
  const int64_t ldc = t.n + 5;
  Stored c = make_stored(t.m, t.n, false, gen);
  c.data.resize(size_t(t.m * ldc));
  if (t.beta == 0.f) std::fill(c.data.begin(), c.data.end(), std::numeric_limits<float>::quiet_NaN());
  const std::vector<float> c0 = c.data;
  cpu::sgemm(t.ta, t.tb, t.m, t.n, t.k, t.alpha, a.data.data(), a.ld, b.data.data(), b.ld, t.beta, c.data.data(), ldc);
  const double u = std::ldexp(1.0, -24), gamma = (t.k + 2) * u / (1 - (t.k + 2) * u);
  int64_t bad = 0;
  for (int64_t i = 0; i < t.m; ++i)
    for (int64_t j = 0; j < t.n; ++j) {
      double dot = 0, mag = 0;
      for (int64_t l = 0; l < t.k; ++l) {
        const double p = double(a.at(i, l)) * b.at(l, j);
        dot += p, mag += std::fabs(p);
      }
      const double prior = t.beta == 0.f ? 0.0 : double(t.beta) * c0[size_t(i * ldc + j)];
      const double want = t.alpha * dot + prior, bound = gamma * (std::fabs(t.alpha) * mag + std::fabs(prior));
      const double got = c.data[size_t(i * ldc + j)];
      if (!(std::fabs(got - want) <= bound) && bad++ < 5)
        ADD_FAILURE() << "c[" << i << "," << j << "] = " << got << ", want " << want << " +- " << bound;
    }
  EXPECT_EQ(bad, 0);
  // The padding between rows of c is never written.
  for (int64_t i = 0; i < t.m; ++i)
    for (int64_t j = t.n; j < ldc; ++j)
      if (!(c.data[size_t(i * ldc + j)] == c0[size_t(i * ldc + j)] ||
            (std::isnan(c.data[size_t(i * ldc + j)]) && std::isnan(c0[size_t(i * ldc + j)]))))
        ADD_FAILURE() << "padding c[" << i << "," << j << "] written";
}

TEST(CpuGemm, MatchesDoubleProductAcrossBlockEdges) {
  std::printf("sgemm kernel: %s\n", cpu::sgemm_uses_avx512() ? "glint AVX-512" : "OpenBLAS");
  const int64_t shapes[][3] = {{1, 1, 1},      {2, 3, 4},     {12, 32, 256},  {13, 33, 257},   {11, 31, 255},
                               {300, 70, 600}, {289, 45, 17}, {40, 2081, 30}, {1024, 192, 64}, {64, 192, 530},
                               {3, 37, 100},   {8, 64, 33},   {16, 5, 600}};
  for (const auto& s : shapes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        check({s[0], s[1], s[2], bool(ta), bool(tb), 1.f, 0.f});
        check({s[0], s[1], s[2], bool(ta), bool(tb), -0.75f, 1.5f});
      }
}

TEST(CpuGemm, ZeroDepthScalesC) {
  check({7, 9, 0, false, false, 1.f, 2.f});
  check({7, 9, 0, true, true, 1.f, 0.f});
}

// Threads split c into whole tiles, never a dot product: the same bits for any thread count, whether the bands
// run along n (a read in place) or along m (a transposed a, which bands of columns would each pack whole).
TEST(CpuGemm, ResultDoesNotDependOnThreadCount) {
  std::mt19937 gen(3);
  const int64_t m = 517, n = 389, k = 700;
  for (const bool ta : {false, true}) {
    SCOPED_TRACE(testing::Message() << "ta=" << ta);
    const Stored a = make_stored(m, k, ta, gen), b = make_stored(k, n, true, gen);
    std::vector<float> one(size_t(m * n)), many(size_t(m * n));
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    cpu::sgemm(ta, true, m, n, k, 1.f, a.data.data(), a.ld, b.data.data(), b.ld, 0.f, one.data(), n);
    omp_set_num_threads(std::max(saved, 3));
    cpu::sgemm(ta, true, m, n, k, 1.f, a.data.data(), a.ld, b.data.data(), b.ld, 0.f, many.data(), n);
    omp_set_num_threads(saved);
    EXPECT_EQ(one, many);
  }
}

// sgemm_b16 against the same product with b widened to f32 first: widening is exact, so the two agree to the bit
// (same kernel, same summation order), for f16 and bf16, both layouts of b, across block edges, on both paths.
TEST(CpuGemm, SixteenBitBMatchesWidenedB) {
  if (!cpu::sgemm_uses_avx512()) GTEST_SKIP() << "sgemm_b16 needs AVX-512; this CPU uses OpenBLAS";
  std::mt19937 gen(11);
  std::uniform_int_distribution<int> bits(0, 0xffff);
  for (const int64_t m : {29, 7})  // the tile kernel, and the few-rows path when b is transposed
    for (const bool bf16 : {false, true})
      for (const bool tb : {false, true}) {
        SCOPED_TRACE(testing::Message() << "m=" << m << " bf16=" << bf16 << " tb=" << tb);
        const int64_t n = 70, k = 300;
        const Stored a = make_stored(m, k, false, gen);
        const int64_t outer = tb ? n : k, ldb = (tb ? k : n) + 2;
        std::vector<uint16_t> b(size_t(outer * ldb));
        std::vector<float> wide(b.size());
        for (size_t i = 0; i < b.size(); ++i) {
          // f16: every finite value, subnormals included; bf16: magnitudes 2^-15 .. 2^15, so that no sum overflows.
          uint16_t v = uint16_t(bits(gen));
          if (bf16)
            v = uint16_t((v & 0x807f) | (112 + v % 31) << 7);
          else if ((v & 0x7c00) == 0x7c00)
            v &= 0x83ff;
          b[i] = v;
          wide[i] = bf16 ? std::bit_cast<float>(uint32_t(v) << 16) : f16_to_f32(v);
        }
        std::vector<float> got(size_t(m * n)), want(size_t(m * n));
        cpu::sgemm_b16(false, tb, m, n, k, 1.f, a.data.data(), a.ld, b.data(), ldb, bf16, 0.f, got.data(), n);
        cpu::sgemm(false, tb, m, n, k, 1.f, a.data.data(), a.ld, wide.data(), ldb, 0.f, want.data(), n);
        EXPECT_EQ(got, want);
      }
}

}  // namespace
}  // namespace glint::test
