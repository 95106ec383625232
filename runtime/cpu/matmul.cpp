// CPU matmul: OpenBLAS on each matrix of the batch. f32 goes straight to cblas_sgemm (cblas_sgemv for a single row
// or column, which streams the matrix once where sgemm would pack it), reading transposed views through CblasTrans
// and leading dims taken from the strides. f16 / bf16 operands are converted to dense f32 copies of each whole
// matrix first (kept while consecutive batch entries share a matrix, as broadcast ones do), multiplied by sgemm and
// the f32 result rounded once into the output: accumulation stays f32 and OpenBLAS's blocking stays intact, for
// O(MK + KN + MN) extra conversion work next to the O(MNK) product.
#include <cblas.h>

#include <vector>

#include "runtime/cpu/elem.h"
#include "runtime/ops/matmul.h"

namespace glint::cpu {
namespace {

// One f32 matrix: element (r, c) at p[r*rs + c*cs], with rs == 1 or cs == 1 as matmul_kernel guarantees.
struct View {
  const float* p;
  int64_t rs, cs;
};
bool transposed(const View& v) { return v.cs != 1; }
int64_t lead(const View& v) { return v.cs != 1 ? v.cs : v.rs; }
CBLAS_TRANSPOSE trans(const View& v) { return transposed(v) ? CblasTrans : CblasNoTrans; }

// c (M, N, contiguous) = a (M, K) @ b (K, N) + beta * c.
void sgemm(const View& a, const View& b, float* c, int64_t m, int64_t n, int64_t k, float beta) {
  if (m == 1) {  // c^T = b^T a^T: a's row is the vector
    if (transposed(b)) cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.f, b.p, b.cs, a.p, a.cs, beta, c, 1);
    else cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.f, b.p, b.rs, a.p, a.cs, beta, c, 1);
  } else if (n == 1) {  // b's column is the vector; c's column has stride 1
    if (transposed(a)) cblas_sgemv(CblasRowMajor, CblasTrans, k, m, 1.f, a.p, a.cs, b.p, b.rs, beta, c, 1);
    else cblas_sgemv(CblasRowMajor, CblasNoTrans, m, k, 1.f, a.p, a.rs, b.p, b.rs, beta, c, 1);
  } else {
    cblas_sgemm(CblasRowMajor, trans(a), trans(b), m, n, k, 1.f, a.p, lead(a), b.p, lead(b), beta, c, n);
  }
}

// Whether OpenBLAS 0.3.x runs this product on the calling thread alone (its GEMM_MULTITHREAD_THRESHOLD rules:
// m*n*k <= 65536 * 4 for gemm, m*n < 2304 * 4 for gemv). Only then is a batch worth splitting across threads.
bool blas_single_threaded(int64_t m, int64_t n, int64_t k) {
  return m == 1 || n == 1 ? m * n * k < 2304 * 4 : m * n * k <= 65536 * 4;
}

// Per-thread f32 copies of 16-bit operands; `key` remembers which source matrix a copy holds.
struct Scratch {
  std::vector<float> a, b, c, bias;
  const void *a_key = nullptr, *b_key = nullptr;
  View va{}, vb{};
};

// Dense f32 copy of a (rows, cols) matrix of T at p with strides (rs, cs), in the source's orientation so that the
// reads run along its contiguous dim.
template <class T>
View to_f32(const T* p, int64_t rows, int64_t cols, int64_t rs, int64_t cs, std::vector<float>& dst) {
  dst.resize(size_t(rows * cols));
  const bool col_major = cs != 1 && rows > 1;
  const int64_t outer = col_major ? cols : rows, inner = col_major ? rows : cols;
  const int64_t os = col_major ? cs : rs, is = col_major ? rs : cs;
  float* d = dst.data();
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 18))
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) d[o * inner + i] = to_float(p[o * os + i * is]);
  return col_major ? View{d, 1, rows} : View{d, cols, 1};
}

// One matrix of the batch: c = a @ b + bias.
template <class T>
void gemm_one(const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t b_rs, int64_t b_cs, const T* bias, T* c,
              int64_t m, int64_t n, int64_t k, Scratch& s) {
  constexpr bool f32 = std::is_same_v<T, float>;
  View va, vb;
  const float *bias32 = nullptr;
  float* out;
  if constexpr (f32) {
    va = {a, a_rs, a_cs}, vb = {b, b_rs, b_cs}, bias32 = bias, out = c;
  } else {
    if (s.a_key != a) s.va = to_f32(a, m, k, a_rs, a_cs, s.a), s.a_key = a;
    if (s.b_key != b) s.vb = to_f32(b, k, n, b_rs, b_cs, s.b), s.b_key = b;
    va = s.va, vb = s.vb;
    if (bias) bias32 = to_f32(bias, 1, n, n, 1, s.bias).p;
    s.c.resize(size_t(m * n));
    out = s.c.data();
  }
  if (bias32)  // sgemm then adds the product to the bias rows (beta = 1)
    for (int64_t i = 0; i < m; ++i) std::copy_n(bias32, n, out + i * n);
  sgemm(va, vb, out, m, n, k, bias32 ? 1.f : 0.f);
  if constexpr (!f32) {
#pragma omp parallel for schedule(static) if (m * n > (1 << 18))
    for (int64_t i = 0; i < m * n; ++i) c[i] = from_float<T>(out[i]);
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
        gemm_one<T>(pa + oa, a.strides()[nd - 2], a.strides()[nd - 1], pb + ob, b.strides()[nd - 2],
                    b.strides()[nd - 1], pbias, pc + i * m * n, m, n, k, s);
      };
      if (nbatch > 1 && blas_single_threaded(m, n, k)) {
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
