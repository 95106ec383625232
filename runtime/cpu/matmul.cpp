// CPU matmul: sgemm (runtime/cpu/gemm.h) on each matrix of the batch. f32 goes straight to sgemm (OpenBLAS's
// cblas_sgemv for a single row or column, which streams the matrix once where sgemm would pack it), reading
// transposed views as transposed operands and leading dims taken from the strides.
//
// f16 / bf16: a is converted whole to f32, b in panels of columns converted just before sgemm multiplies them (with
// glint's AVX-512 GEMM and more than one row, sgemm_b16 widens b as it packs it instead), and each f32 result panel
// is rounded once into the output. Accumulation stays f32 and sgemm keeps its blocking;
// the panels bound the temporary memory (a weight is never copied whole) and, for few rows (decode), stay in cache
// between their conversion and their use, so b is read from memory about once. Panels are wide when a has many
// rows, because sgemm packs a again for every panel. The conversions run on the calling thread: they are cheap
// next to the product, and an OpenMP region between sgemm calls costs far more than it saves, as its idle
// workers spin while sgemm's threads want the cores (measured with OpenBLAS: 4 to 60 times slower for few rows).
#include "runtime/ops/matmul.h"

#include <cblas.h>

#include <algorithm>

#include "runtime/cpu/elem.h"
#include "runtime/cpu/gemm.h"
#include "runtime/cpu/simd_clones.h"

namespace glint::cpu {
namespace {

// One f32 matrix: element (r, c) at p[r*rs + c*cs], with rs == 1 or cs == 1 as matmul_kernel guarantees.
struct View {
  const float* p;
  int64_t rs, cs;
};
bool transposed(const View& v) { return v.cs != 1; }
int64_t lead(const View& v) { return v.cs != 1 ? v.cs : v.rs; }

// c (M, N, row stride ldc) = a (M, K) @ b (K, N) + beta * c.
void multiply(const View& a, const View& b, float* c, int64_t ldc, int64_t m, int64_t n, int64_t k, float beta) {
  if (m == 1) {  // c^T = b^T a^T: a's row is the vector
    if (transposed(b))
      cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.f, b.p, b.cs, a.p, a.cs, beta, c, 1);
    else
      cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.f, b.p, b.rs, a.p, a.cs, beta, c, 1);
  } else if (n == 1) {  // b's column is the vector
    if (transposed(a))
      cblas_sgemv(CblasRowMajor, CblasTrans, k, m, 1.f, a.p, a.cs, b.p, b.rs, beta, c, ldc);
    else
      cblas_sgemv(CblasRowMajor, CblasNoTrans, m, k, 1.f, a.p, a.rs, b.p, b.rs, beta, c, ldc);
  } else {
    sgemm(transposed(a), transposed(b), m, n, k, 1.f, a.p, lead(a), b.p, lead(b), beta, c, ldc);
  }
}

// Whether this product runs on the calling thread alone (OpenBLAS 0.3.x's rule for gemv: m*n < 2304 * 4). Only then
// is a batch worth splitting across threads.
bool runs_single_threaded(int64_t m, int64_t n, int64_t k) {
  return m == 1 || n == 1 ? m * n * k < 2304 * 4 : sgemm_single_threaded(m, n, k);
}

// f16 -> f32 without branches, so that conversion loops vectorise (elem.h's to_float is exact but branchy).
// Scaling the shifted bits by 2^(127-15) rebiases the exponent exactly, subnormals included; inf and NaN (f16
// exponent 31, 2^16 and above once scaled) get the all-ones f32 exponent. Same result as f16_to_f32 for all inputs.
inline float half_to_float(uint16_t h) {
  const float f = std::bit_cast<float>(uint32_t(h & 0x7fffu) << 13) * 0x1p112f;
  uint32_t bits = std::bit_cast<uint32_t>(f);
  if (f >= 0x1p16f) bits |= 0x7f800000u;
  return std::bit_cast<float>(bits | uint32_t(h & 0x8000u) << 16);
}
template <class T>
inline float widen(T v) {
  if constexpr (std::is_same_v<T, f16_t>)
    return half_to_float(v.bits);
  else
    return to_float(v);
}

// Uninitialised f32 storage that grows on demand and is reused across the matrices of one call.
// Held as a CPU tensor, so that its memory comes from the host allocator's reuse cache: a fresh buffer per call
// paid a page fault per 4 KiB (15 % of a 512^3 bf16 product's time).
struct Buffer {
  Tensor t;
  float* get(int64_t n) {
    if (!t.defined() || n > t.numel()) t = Tensor::empty({n}, DType::f32, Device::cpu());
    return t.data<float>();
  }
};

// Dense f32 copy of a (rows, cols) matrix of T at p with strides (rs, cs), in the source's orientation so that the
// reads run along its contiguous dim.
template <class T>
GLINT_SIMD_CLONES View to_f32(const T* p, int64_t rows, int64_t cols, int64_t rs, int64_t cs, Buffer& buf) {
  float* d = buf.get(rows * cols);
  const bool col_major = cs != 1 && rows > 1;
  const int64_t outer = col_major ? cols : rows, inner = col_major ? rows : cols;
  const int64_t os = col_major ? cs : rs, is = col_major ? rs : cs;
  for (int64_t o = 0; o < outer; ++o) {
    const T* src = p + o * os;
    float* dst = d + o * inner;
    if (is == 1)
      for (int64_t i = 0; i < inner; ++i) dst[i] = widen(src[i]);
    else
      for (int64_t i = 0; i < inner; ++i) dst[i] = widen(src[i * is]);
  }
  return col_major ? View{d, 1, rows} : View{d, cols, 1};
}

// c (m rows of w, row stride ldc) = the f32 panel cp rounded to T.
template <class T>
GLINT_SIMD_CLONES void round_panel(const float* cp, int64_t m, int64_t w, T* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < w; ++j) c[i * ldc + j] = from_float<T>(cp[i * w + j]);
}

struct Scratch {
  Buffer a, b, c;
};

// One f32 matrix of the batch: c = a @ b + bias, with sgemm adding the product to bias rows (beta = 1).
void gemm_f32(const float* a, int64_t a_rs, int64_t a_cs, const float* b, int64_t b_rs, int64_t b_cs, const float* bias,
              float* c, int64_t m, int64_t n, int64_t k, Scratch&) {
  if (bias)
    for (int64_t i = 0; i < m; ++i) std::copy_n(bias, n, c + i * n);
  multiply({a, a_rs, a_cs}, {b, b_rs, b_cs}, c, n, m, n, k, bias ? 1.f : 0.f);
}

// One 16-bit matrix of the batch, through f32 copies (see the top of the file). With glint's AVX-512 GEMM and more
// than one row and column, b is not copied at all: sgemm_b16 widens it as it packs it, which saves a pass over b
// (2048^3 bf16: 162 -> 200 GFLOP/s on one core).
template <class T>
void gemm_16bit(const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t b_rs, int64_t b_cs, const T* bias, T* c,
                int64_t m, int64_t n, int64_t k, Scratch& s) {
  const View va = to_f32(a, m, k, a_rs, a_cs, s.a);
  const bool packs_b16 = sgemm_uses_avx512() && m > 1 && n > 1;
  // About 4 MiB of b per panel for few rows; as many columns as a has rows times 4 otherwise.
  const int64_t panel = std::min(n, std::max<int64_t>({(1 << 20) / k, 4 * m, 16}));
  float* cp = s.c.get(m * panel);
  for (int64_t n0 = 0; n0 < n; n0 += panel) {
    const int64_t w = std::min(panel, n - n0);
    if (bias)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < w; ++j) cp[i * w + j] = widen(bias[n0 + j]);
    if (packs_b16) {
      const bool tb = b_cs != 1;
      sgemm_b16(transposed(va), tb, m, w, k, 1.f, va.p, lead(va), reinterpret_cast<const uint16_t*>(b + n0 * b_cs),
                tb ? b_cs : b_rs, std::is_same_v<T, bf16_t>, bias ? 1.f : 0.f, cp, w);
    } else {
      multiply(va, to_f32(b + n0 * b_cs, k, w, b_rs, b_cs, s.b), cp, w, m, w, k, bias ? 1.f : 0.f);
    }
    round_panel(cp, m, w, c + n0, n);
  }
}

void matmul_cpu(const Tensor& a, const Tensor& b, const Tensor& bias, const Tensor& c) {
  const int nd = c.ndim();
  const int64_t m = c.shape()[nd - 2], n = c.shape()[nd - 1], k = a.shape()[nd - 1];
  const Shape batch(c.shape().begin(), c.shape().end() - 2);
  const int64_t nbatch = numel_of(batch);
  visit_dtype(c.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) {
      const T *pa = ptr<T>(a), *pb = ptr<T>(b), *pbias = bias.defined() ? ptr<T>(bias) : nullptr;
      T* pc = ptr<T>(c);
      auto run = [&](int64_t i, Scratch& s) {
        int64_t oa = 0, ob = 0;
        for (int64_t d = nd - 3, rem = i; d >= 0; --d) {
          const int64_t j = rem % batch[d];
          rem /= batch[d];
          oa += j * a.strides()[d], ob += j * b.strides()[d];
        }
        const int64_t a_rs = a.strides()[nd - 2], a_cs = a.strides()[nd - 1];
        const int64_t b_rs = b.strides()[nd - 2], b_cs = b.strides()[nd - 1];
        if constexpr (std::is_same_v<T, float>)
          gemm_f32(pa + oa, a_rs, a_cs, pb + ob, b_rs, b_cs, pbias, pc + i * m * n, m, n, k, s);
        else
          gemm_16bit(pa + oa, a_rs, a_cs, pb + ob, b_rs, b_cs, pbias, pc + i * m * n, m, n, k, s);
      };
      if (nbatch > 1 && runs_single_threaded(m, n, k)) {
#pragma omp parallel
        {
          Scratch s;
#pragma omp for schedule(static)
          for (int64_t i = 0; i < nbatch; ++i) run(i, s);
        }
      } else {
        Scratch s;
        for (int64_t i = 0; i < nbatch; ++i) run(i, s);
      }
    }
  });
}

const OpRegistration reg(matmul_kernel, DeviceKind::cpu, matmul_cpu);

}  // namespace
}  // namespace glint::cpu
