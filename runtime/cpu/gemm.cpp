// glint's own f32 GEMM for CPUs with AVX-512, in the GotoBLAS / BLIS structure: b is packed in blocks of kKC rows
// by kNC columns, and a micro-kernel computes each kMR x kNR tile of c in 24 zmm registers, streaming a kNR-wide
// panel of packed b (32 KiB for kKC = 256, inside L1) against kMR rows of a, one broadcast of a and two loads of b
// per 24 FMAs. The broadcast side needs no packing for contiguity (it loads one float at a time), so a row-major a
// is read in place through kMR row pointers (measured as fast as packed, and it saves a transpose of a per
// product); a transposed a, whose kMR floats per k are adjacent but kc rows apart, is copied into k-major panels
// of kMC rows so that they stay in L2.
//
// Why not OpenBLAS everywhere: Debian's OpenBLAS 0.3.21 runs its Haswell (AVX2) kernel on AMD Zen 4 / Zen 5, and
// PyTorch's MKL its AVX2 path there too. Zen 5's AVX-512 units are full width: a zmm FMA runs at the rate of a ymm
// FMA (measured 264 against 133 GFLOP/s per core), so this kernel multiplies about 1.7x as fast as OpenBLAS on the
// shapes glint trains and diffuses with (docs/benchmarks.md). Without AVX-512 (or off x86) OpenBLAS does the work.
//
// Threads split c into bands of whole tiles, along m or n, each thread running the serial algorithm on its band:
// no thread ever sums part of a dot product, so every element's summation order (k ascending) is the same for any
// thread count, and results are bit-identical across thread counts. A band packs all of whatever operand it does
// not split (b for bands of rows, a transposed a for bands of columns), so the split is the one whose time per
// thread, products plus that repeated packing, is least (split_along_m).
#include "runtime/cpu/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <memory>
#include <new>

#include "runtime/core/error.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GLINT_GEMM_AVX512 1
// GCC 12's _mm512_undefined_ps, which the shuffle intrinsics pass as their unused merge source, initialises a
// variable from itself, and every inlined use warns.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif

namespace glint::cpu {
namespace {

// A product is split across threads above this many multiply-adds: a parallel region costs microseconds, about
// what 256K multiply-adds take on one core (OpenBLAS's GEMM_MULTITHREAD_THRESHOLD rule, kept for its callers).
constexpr int64_t kParallelWork = 65536 * 4;

void openblas_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                    const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
              alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

#if GLINT_GEMM_AVX512
constexpr int kMR = 12, kNR = 32;  // tile of c: 12 rows x 2 zmm
constexpr int64_t kKC = 256, kMC = kMR * 24, kNC = 2048;

// Element (r, c) of op(x) is p[r * ld + c], or p[c * ld + r] when transposed; b's elements may be 16-bit floats.
template <class T>
struct Operand {
  const T* p;
  int64_t ld;
  bool trans;
};

// How packing reads 16 elements of b into f32 lanes (masked lanes are zero): f32 as is, f16 and bf16 widened
// exactly (a half by VCVTPH2PS, a bfloat16 by moving its bits to the top of a float).
struct F32 {
  using Elem = float;
  [[gnu::target("arch=x86-64-v4")]] static __m512 load(const float* p, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, p);
  }
  static float widen(float v) { return v; }
};
struct F16 {
  using Elem = uint16_t;
  [[gnu::target("arch=x86-64-v4")]] static __m512 load(const uint16_t* p, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
  }
  [[gnu::target("arch=x86-64-v4")]] static float widen(uint16_t v) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(v)));
  }
};
struct BF16 {
  using Elem = uint16_t;
  [[gnu::target("arch=x86-64-v4")]] static __m512 load(const uint16_t* p, __mmask16 m) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
  }
  static float widen(uint16_t v) { return std::bit_cast<float>(uint32_t(v) << 16); }
};

// In-register transpose of a 16 x 16 block: r[i] holds row i on entry and column i on return. Unpacks interleave
// row pairs, shuffle_ps gathers each 128-bit lane's 4 x 4 block, and two rounds of shuffle_f32x4 transpose the 4 x 4
// grid of lanes.
[[gnu::target("arch=x86-64-v4")]] [[gnu::always_inline]] inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int g = 0; g < 16; g += 4) {  // r[g + c], lane L: column 4L + c of rows g .. g + 3
    r[g] = _mm512_shuffle_ps(t[g], t[g + 2], 0x44);
    r[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], 0xee);
    r[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
    r[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xee);
  }
  for (int c = 0; c < 4; ++c) {
    const __m512 v0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x44), v1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xee);
    const __m512 v2 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x44),
                 v3 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xee);
    t[c] = _mm512_shuffle_f32x4(v0, v2, 0x88), t[4 + c] = _mm512_shuffle_f32x4(v0, v2, 0xdd);
    t[8 + c] = _mm512_shuffle_f32x4(v1, v3, 0x88), t[12 + c] = _mm512_shuffle_f32x4(v1, v3, 0xdd);
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

__mmask16 first_lanes(int64_t count) { return __mmask16(count >= 16 ? 0xffff : (1u << count) - 1); }

// Transposes `rows` (<= 16) rows of kc elements, src[i] the start of row i, into 16 floats of k-major panel rows
// `width` apart: dst[p * width + i] = src[i][p], zero for i >= rows. 16 k at a time through transpose16.
template <class E>
[[gnu::target("arch=x86-64-v4")]] void transpose_rows(const typename E::Elem* const* src, int rows, int64_t kc,
                                                      float* dst, int64_t width) {
  for (int64_t p = 0; p < kc; p += 16) {
    const __mmask16 load = first_lanes(kc - p);
    __m512 r[16];
    for (int i = 0; i < 16; ++i) r[i] = i < rows ? E::load(src[i] + p, load) : _mm512_setzero_ps();
    transpose16(r);
    const int64_t n = std::min<int64_t>(16, kc - p);
    for (int64_t q = 0; q < n; ++q) _mm512_storeu_ps(dst + (p + q) * width, r[q]);
  }
}

// Rows [i0, i0 + mc) x columns [p0, p0 + kc) of a transposed op(a) (stored (k, m)) as kMR-row panels, each
// k-major (panel[p * kMR + i]) so that the micro-kernel broadcasts consecutive floats. Rows past mc are zero.
[[gnu::target("arch=x86-64-v4")]] void pack_a(const Operand<float>& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                                              float* dst) {
  for (int64_t ir = 0; ir < mc; ir += kMR, dst += kc * kMR) {
    const __mmask16 rows = first_lanes(std::min<int64_t>(kMR, mc - ir));
    for (int64_t p = 0; p < kc; ++p)
      _mm512_mask_storeu_ps(dst + p * kMR, first_lanes(kMR),
                            _mm512_maskz_loadu_ps(rows, a.p + (p0 + p) * a.ld + i0 + ir));
  }
}

// Rows [p0, p0 + kc) x columns [j0, j0 + nc) of op(b) as kNR-column panels of f32, each k-major
// (panel[p * kNR + j]). Columns past nc are zero.
template <class E>
[[gnu::target("arch=x86-64-v4")]] void pack_b(const Operand<typename E::Elem>& b, int64_t p0, int64_t kc, int64_t j0,
                                              int64_t nc, float* dst) {
  for (int64_t jr = 0; jr < nc; jr += kNR, dst += kc * kNR) {
    const int cols = int(std::min<int64_t>(kNR, nc - jr));
    if (!b.trans) {  // each k's kNR columns are contiguous in memory
      const __mmask16 m0 = first_lanes(cols), m1 = first_lanes(std::max(cols - 16, 0));
      for (int64_t p = 0; p < kc; ++p) {
        const typename E::Elem* src = b.p + (p0 + p) * b.ld + j0 + jr;
        _mm512_store_ps(dst + p * kNR, E::load(src, m0));
        _mm512_store_ps(dst + p * kNR + 16, E::load(src + 16, m1));
      }
    } else {  // two 16-column halves, each 16 stored rows of b transposed
      for (int h = 0; h < kNR; h += 16) {
        const typename E::Elem* src[16];
        const int rows = std::clamp(cols - h, 0, 16);
        for (int j = 0; j < rows; ++j) src[j] = b.p + (j0 + jr + h + j) * b.ld + p0;
        transpose_rows<E>(src, rows, kc, dst + h, kNR);
      }
    }
  }
}

// c[0:rows, 0:cols] = alpha * (a @ bp) + beta * c for one tile: bp a packed kNR-column panel kc deep; a either a
// packed kMR-row panel (kPacked: element (i, p) at a[p * kMR + i]) or kMR rows of a row-major matrix (element
// (i, p) at a[i * lda + p]; rows past `rows` re-read the last one, whose products are then not stored). beta == 0
// does not read c.
template <bool kPacked>
[[gnu::target("arch=x86-64-v4")]] void micro_kernel(int64_t kc, const float* a, int64_t lda, const float* bp, float* c,
                                                    int64_t ldc, int rows, int cols, float alpha, float beta) {
  __m512 acc[kMR][2];
  const float* row[kMR];
#pragma GCC unroll 12
  for (int i = 0; i < kMR; ++i) {
    acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    row[i] = a + std::min(i, rows - 1) * lda;
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16), _MM_HINT_T0);
  }
  for (int64_t p = 0; p < kc; ++p, bp += kNR) {
    const __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
    _mm_prefetch(reinterpret_cast<const char*>(bp + 8 * kNR), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int i = 0; i < kMR; ++i) {
      const __m512 x = _mm512_set1_ps(kPacked ? a[p * kMR + i] : row[i][p]);
      acc[i][0] = _mm512_fmadd_ps(x, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(x, b1, acc[i][1]);
    }
  }
  const __mmask16 m0 = first_lanes(cols), m1 = first_lanes(std::max(cols - 16, 0));
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
  for (int i = 0; i < kMR; ++i) {
    if (i >= rows) break;
    float* r = c + i * ldc;
    __m512 v0 = _mm512_mul_ps(va, acc[i][0]), v1 = _mm512_mul_ps(va, acc[i][1]);
    if (beta != 0.f) {
      v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, r), v0);
      v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, r + 16), v1);
    }
    _mm512_mask_storeu_ps(r, m0, v0);
    _mm512_mask_storeu_ps(r + 16, m1, v1);
  }
}

// Packing buffers, one pair per thread, 64-byte aligned for the kernel's aligned loads of b.
struct Panels {
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  static float* allocate(size_t floats) {
    if (void* p = std::aligned_alloc(64, sizeof(float) * floats)) return static_cast<float*>(p);
    throw std::bad_alloc();
  }
  std::unique_ptr<float, Free> a{allocate(kMC * kKC)}, b{allocate(kKC * kNC)};
};

// c = alpha * a @ b^T + beta * c for few rows of a row-major a (m <= kFewRows: a batch of decoded tokens) and b
// stored (n, k) row-major, as a weight is. Packing b would transpose the whole weight for a product of a few rows,
// costing more than the product; instead the roles swap: the rows of b are the broadcast side, read in place
// (kFewCols at a time, each streamed once from memory), and a is transposed once into a k-major panel of 16 lanes
// (xt[p * 16 + i] = a[i][p]) that stays in L2. Accumulator r holds, in lane i, c[i][j + r].
constexpr int64_t kFewRows = 16;
constexpr int kFewCols = 8;  // 8 block sums and 8 totals stay in registers; with 12, GCC 12 spilled (39 vs 71 GFLOP/s)
template <class E>
[[gnu::target("arch=x86-64-v4")]] void few_rows_gemm(const Operand<float>& a, const Operand<typename E::Elem>& b,
                                                     int64_t m, int64_t n, int64_t k, float alpha, float beta, float* c,
                                                     int64_t ldc, float* xt) {
  const float* rows_a[kFewRows];
  for (int i = 0; i < m; ++i) rows_a[i] = a.p + i * a.ld;
  transpose_rows<F32>(rows_a, int(m), k, xt, kFewRows);
  for (int64_t j = 0; j < n; j += kFewCols) {
    const int rows = int(std::min<int64_t>(kFewCols, n - j));
    const typename E::Elem* w[kFewCols];
    __m512 acc[kFewCols], block[kFewCols];
#pragma GCC unroll 8
    for (int r = 0; r < kFewCols; ++r) {
      w[r] = b.p + (j + std::min(r, rows - 1)) * b.ld;
      acc[r] = _mm512_setzero_ps();
    }
    // Sums of kKC-deep blocks added up, as the main kernel adds its blocks into c: a sum over all of k in one
    // register would carry k roundings in a row (measured 2.4e-6 relative error at k = 4096, against 4e-7).
    for (int64_t p0 = 0; p0 < k; p0 += kKC) {
#pragma GCC unroll 8
      for (int r = 0; r < kFewCols; ++r) block[r] = _mm512_setzero_ps();
      for (int64_t p = p0, end = std::min(k, p0 + kKC); p < end; ++p) {
        const __m512 x = _mm512_load_ps(xt + p * kFewRows);
#pragma GCC unroll 8
        for (int r = 0; r < kFewCols; ++r) block[r] = _mm512_fmadd_ps(_mm512_set1_ps(E::widen(w[r][p])), x, block[r]);
      }
#pragma GCC unroll 8
      for (int r = 0; r < kFewCols; ++r) acc[r] = _mm512_add_ps(acc[r], block[r]);
    }
    alignas(64) float out[kFewCols][kFewRows];
    for (int r = 0; r < kFewCols; ++r) _mm512_store_ps(out[r], acc[r]);
    for (int64_t i = 0; i < m; ++i)
      for (int r = 0; r < rows; ++r) {
        float& dst = c[i * ldc + j + r];
        dst = beta == 0.f ? alpha * out[r][i] : alpha * out[r][i] + beta * dst;
      }
  }
}

// The whole product on the calling thread.
template <class E>
[[gnu::target("arch=x86-64-v4")]] void gemm_serial(const Operand<float>& a, const Operand<typename E::Elem>& b,
                                                   int64_t m, int64_t n, int64_t k, float alpha, float beta, float* c,
                                                   int64_t ldc) {
  thread_local Panels panels;
  float *pa = panels.a.get(), *pb = panels.b.get();
  if (m <= kFewRows && !a.trans && b.trans && k * kFewRows <= kKC * kNC)
    return few_rows_gemm<E>(a, b, m, n, k, alpha, beta, c, ldc, pb);
  for (int64_t jc = 0; jc < n; jc += kNC) {
    const int64_t nc = std::min(kNC, n - jc);
    for (int64_t pc = 0; pc < k; pc += kKC) {
      const int64_t kc = std::min(kKC, k - pc);
      const float block_beta = pc == 0 ? beta : 1.f;
      pack_b<E>(b, pc, kc, jc, nc, pb);
      for (int64_t ic = 0; ic < m; ic += kMC) {
        const int64_t mc = std::min(kMC, m - ic);
        if (a.trans) pack_a(a, ic, mc, pc, kc, pa);
        for (int64_t jr = 0; jr < nc; jr += kNR)
          for (int64_t ir = 0; ir < mc; ir += kMR) {
            float* tile = c + (ic + ir) * ldc + jc + jr;
            const int rows = int(std::min<int64_t>(kMR, mc - ir)), cols = int(std::min<int64_t>(kNR, nc - jr));
            if (a.trans)
              micro_kernel<true>(kc, pa + ir * kc, 0, pb + jr * kc, tile, ldc, rows, cols, alpha, block_beta);
            else
              micro_kernel<false>(kc, a.p + (ic + ir) * a.ld + pc, a.ld, pb + jr * kc, tile, ldc, rows, cols, alpha,
                                  block_beta);
          }
      }
    }
  }
}

// Whether bands of rows beat bands of columns for `threads` threads, in FMA-equivalents per thread: the products
// (32 multiply-adds a cycle) plus the packing a band repeats, k x n of b for bands of rows, k x m of a transposed
// a for bands of columns (about 2 floats a cycle through the transposes: 16 multiply-adds a float). With many
// threads, bands of rows would each pack a whole weight; with a read in place, bands of columns repeat nothing.
bool split_along_m(int64_t m, int64_t n, int64_t k, bool ta, int threads) {
  const double tiles_m = double((m + kMR - 1) / kMR), tiles_n = double((n + kNR - 1) / kNR);
  const double work = double(m) * double(n) * double(k);
  const double rows = work / std::min<double>(threads, tiles_m) + 16.0 * double(k) * double(n);
  const double cols = work / std::min<double>(threads, tiles_n) + (ta ? 16.0 * double(k) * double(m) : 0.0);
  return rows < cols;
}

template <class E>
void gemm_avx512(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* pa, int64_t lda,
                 const typename E::Elem* pb, int64_t ldb, float beta, float* c, int64_t ldc) {
  const Operand<float> a{pa, lda, ta};
  const Operand<typename E::Elem> b{pb, ldb, tb};
  const int threads = omp_in_parallel() || m * n * k <= kParallelWork ? 1 : omp_get_max_threads();
  if (threads == 1) return gemm_serial<E>(a, b, m, n, k, alpha, beta, c, ldc);
  const int64_t tiles_m = (m + kMR - 1) / kMR, tiles_n = (n + kNR - 1) / kNR;
  const bool along_m = split_along_m(m, n, k, ta, threads);
  const int64_t tiles = along_m ? tiles_m : tiles_n, unit = along_m ? kMR : kNR, dim = along_m ? m : n;
  const int bands = int(std::min<int64_t>(threads, tiles));
#pragma omp parallel for num_threads(bands) schedule(static, 1)
  for (int t = 0; t < bands; ++t) {
    const int64_t lo = std::min(dim, tiles * t / bands * unit), hi = std::min(dim, tiles * (t + 1) / bands * unit);
    if (lo >= hi) continue;
    if (along_m) {
      const Operand<float> sub{ta ? pa + lo : pa + lo * lda, lda, ta};
      gemm_serial<E>(sub, b, hi - lo, n, k, alpha, beta, c + lo * ldc, ldc);
    } else {
      const Operand<typename E::Elem> sub{tb ? pb + lo * ldb : pb + lo, ldb, tb};
      gemm_serial<E>(a, sub, m, hi - lo, k, alpha, beta, c + lo, ldc);
    }
  }
}

bool have_avx512() {
  static const bool yes = __builtin_cpu_supports("x86-64-v4");
  return yes;
}
#else
bool have_avx512() { return false; }
#endif

// c = beta * c where there is no product (k == 0 or alpha == 0); whether that was the case.
bool no_product(int64_t m, int64_t n, int64_t k, float alpha, float beta, float* c, int64_t ldc) {
  if (k > 0 && alpha != 0.f) return false;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.f ? 0.f : beta * c[i * ldc + j];
  return true;
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0 || no_product(m, n, k, alpha, beta, c, ldc)) return;
#if GLINT_GEMM_AVX512
  if (have_avx512()) return gemm_avx512<F32>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
  openblas_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void sgemm_b16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const uint16_t* b, int64_t ldb, bool b_bf16, float beta, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0 || no_product(m, n, k, alpha, beta, c, ldc)) return;
#if GLINT_GEMM_AVX512
  if (have_avx512()) {
    if (b_bf16) return gemm_avx512<BF16>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return gemm_avx512<F16>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
#endif
  fail("cpu", "sgemm_b16 needs AVX-512 (check sgemm_uses_avx512 first)");
}

bool sgemm_single_threaded(int64_t m, int64_t n, int64_t k) { return m * n * k <= kParallelWork; }

bool sgemm_uses_avx512() { return have_avx512(); }

}  // namespace glint::cpu
