// CPU attention, flash-style: each task takes up to kRows query rows that share one (batch, kv head) — consecutive
// positions of one head in prefill, the query heads of a GQA group in decode — and streams blocks of kKeys keys
// through an online softmax (running max and sum per row), so the scores never exceed kRows x kKeys floats and each
// K/V block is converted to f32 once per task. Tasks run in parallel with OpenMP.
//
// The three inner loops (q k^T, softmax, p v) work on f32 blocks with GCC vector types; target_clones builds them
// for AVX-512, AVX2+FMA and baseline x86-64 and picks one at load time, so the library needs no -march flag.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "runtime/cpu/elem.h"
#include "runtime/ops/attention.h"

// The 64-byte vector helpers below are always inlined into their callers, so the ABI note GCC emits for
// returning such vectors from a non-AVX-512 function does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define GLINT_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define GLINT_SIMD_CLONES
#endif

namespace glint::cpu {
namespace {

constexpr int kLanes = 16;          // floats per vector
constexpr int kKeys = 4 * kLanes;   // keys per block: one row of scores is four vectors
constexpr int kRows = 32;           // query rows per task; a multiple of the micro-kernels' 4-row block
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

using vf = float __attribute__((vector_size(kLanes * sizeof(float))));
[[gnu::always_inline]] inline vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }

// 2^x for x <= 0 as 2^n * p(f), n = round(x), |f| <= 1/2, p a degree-7 Taylor polynomial (relative error < 2e-7);
// written without calls or branches so that loops over it vectorise. Below -127 (and for -inf) it returns 0.
[[gnu::always_inline]] inline float exp2_neg(float x) {
  x = x < -127.f ? -127.f : x;
  const float n = (x + 12582912.f) - 12582912.f;  // round to nearest: 1.5 * 2^23 pushes the fraction out
  const float f = (x - n) * 0.693147180559945f;
  float p = 1.f / 5040;
  for (float c : {1.f / 720, 1.f / 120, 1.f / 24, 1.f / 6, 1.f / 2, 1.f, 1.f}) p = p * f + c;
  int32_t bits;
  std::memcpy(&bits, &p, 4);
  bits += int32_t(n) * (1 << 23);
  float r;
  std::memcpy(&r, &bits, 4);
  return r;
}

// s[i][0:kKeys] = sum_d q[i][d] * kt[d][0:kKeys] for i < rows (rows % 4 == 0): 4 rows x 4 vectors of accumulators
// stay in registers while kt streams through once per 4 rows.
GLINT_SIMD_CLONES void qk_block(const float* q, int64_t dim, const float* kt, float* s, int rows) {
  for (int i = 0; i < rows; i += 4) {
    vf acc[4][4] = {};
    for (int64_t d = 0; d < dim; ++d) {
      const float* kr = kt + d * kKeys;
      const vf k0 = load(kr), k1 = load(kr + kLanes), k2 = load(kr + 2 * kLanes), k3 = load(kr + 3 * kLanes);
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) {
        const float qv = q[(i + r) * dim + d];
        acc[r][0] += qv * k0;
        acc[r][1] += qv * k1;
        acc[r][2] += qv * k2;
        acc[r][3] += qv * k3;
      }
    }
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) store(s + (i + r) * kKeys + c * kLanes, acc[r][c]);
  }
}

// o[i][c:c+NV*kLanes] = alpha[i] * o[i][...] + sum_{j<nk} p[i][j] * v[j][...] for 4 rows from i.
template <int NV>
[[gnu::always_inline]] inline void pv_tile(const float* p, const float* v, int64_t ld, const float* alpha, float* o,
                                           int i, int64_t c, int nk) {
  vf acc[4][NV];
  for (int r = 0; r < 4; ++r)
    for (int x = 0; x < NV; ++x) acc[r][x] = alpha[i + r] * load(o + (i + r) * ld + c + x * kLanes);
  for (int j = 0; j < nk; ++j) {
    vf vj[NV];
    for (int x = 0; x < NV; ++x) vj[x] = load(v + j * ld + c + x * kLanes);
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      const float pr = p[(i + r) * kKeys + j];
      for (int x = 0; x < NV; ++x) acc[r][x] += pr * vj[x];
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int x = 0; x < NV; ++x) store(o + (i + r) * ld + c + x * kLanes, acc[r][x]);
}

// o = diag(alpha) o + p v over all rows (rows % 4 == 0) and ld columns (ld % kLanes == 0).
GLINT_SIMD_CLONES void pv_block(const float* p, const float* v, int64_t ld, const float* alpha, float* o, int rows,
                                int nk) {
  for (int i = 0; i < rows; i += 4) {
    int64_t c = 0;
    for (; c + 4 * kLanes <= ld; c += 4 * kLanes) pv_tile<4>(p, v, ld, alpha, o, i, c, nk);
    for (; c < ld; c += kLanes) pv_tile<1>(p, v, ld, alpha, o, i, c, nk);
  }
}

// What the softmax needs of each query row of a task.
struct Row {
  const float* mask;  // this row of the (B, Hq, Tq, Tk) mask view, or null
  int64_t last_key;   // causal: the last key it may see (may be < 0); otherwise Tk - 1
};

// Masks one block of scores (keys k0 .. k0 + kKeys, nk of them real) and folds it into each row's running max m and
// sum l; leaves probabilities in s and each row's rescale factor for o in alpha. Rows >= rows.size() get p = 0.
GLINT_SIMD_CLONES void softmax_block(float* s, const std::vector<Row>& rows, int padded_rows, AttentionMask kind,
                                     int64_t k0, int nk, float* m, float* l, float* alpha) {
  for (int i = 0; i < padded_rows; ++i) {
    float* r = s + i * kKeys;
    const int n = i < int(rows.size()) ? int(std::clamp<int64_t>(rows[i].last_key - k0 + 1, 0, nk)) : 0;
    for (int j = n; j < kKeys; ++j) r[j] = kNegInf;
    if (kind == AttentionMask::additive)
      for (int j = 0; j < n; ++j) r[j] += rows[i].mask[k0 + j];
    else if (kind == AttentionMask::keep)
      for (int j = 0; j < n; ++j) r[j] = rows[i].mask[k0 + j] != 0.f ? r[j] : kNegInf;
    float mx = kNegInf;
    for (int j = 0; j < kKeys; ++j) mx = std::max(mx, r[j]);
    const float m_new = std::max(m[i], mx);
    if (m_new == kNegInf) {  // nothing seen yet in this row: o stays zero
      alpha[i] = 1.f;
      std::fill_n(r, kKeys, 0.f);
      continue;
    }
    alpha[i] = exp2_neg((m[i] - m_new) * kLog2e);
    float sum = 0;
    for (int j = 0; j < kKeys; ++j) sum += (r[j] = exp2_neg((r[j] - m_new) * kLog2e));
    l[i] = l[i] * alpha[i] + sum;
    m[i] = m_new;
  }
}

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Per-thread f32 buffers of one task.
struct Workspace {
  int64_t dim, dvp;  // head dims; dvp = Dv rounded up to whole vectors (zero columns)
  std::vector<float> q, kt, v, s, o, m, l, alpha;
  std::vector<Row> rows;
  Workspace(int64_t d, int64_t dv)
      : dim(d), dvp(round_up(dv, kLanes)), q(kRows * d), kt(d * kKeys), v(kKeys * dvp), s(kRows * kKeys),
        o(kRows * dvp), m(kRows), l(kRows), alpha(kRows) {}
};

template <class T>
void attention_typed(const AttentionArgs& a) {
  const Shape &qs = a.q.strides(), &ks = a.k.strides(), &vs = a.v.strides();
  const int64_t B = a.out.dim(0), Hq = a.out.dim(1), Tq = a.out.dim(2), Dv = a.out.dim(3);
  const int64_t Hkv = a.k.dim(1), Tk = a.k.dim(2), D = a.q.dim(3), group = Hq / Hkv;
  const int64_t rows_per_kv = group * Tq, blocks = (rows_per_kv + kRows - 1) / kRows;
  const T *qp = ptr<T>(a.q), *kp = ptr<T>(a.k), *vp = ptr<T>(a.v);
  const float* mp = a.mask.defined() ? ptr<float>(a.mask) : nullptr;
  T* op = ptr<T>(a.out);

#pragma omp parallel
  {
    Workspace w(D, Dv);
#pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < B * Hkv * blocks; ++task) {
      const int64_t b = task / (Hkv * blocks), hk = task / blocks % Hkv, r0 = task % blocks * kRows;
      const int nrows = int(std::min<int64_t>(kRows, rows_per_kv - r0)), padded = int(round_up(nrows, 4));
      // Rows r0.. of this kv head: query head hk * group + r / Tq, position r % Tq.
      w.rows.clear();
      std::fill(w.q.begin(), w.q.end(), 0.f);
      int64_t key_end = 0;
      for (int i = 0; i < nrows; ++i) {
        const int64_t h = hk * group + (r0 + i) / Tq, t = (r0 + i) % Tq;
        const T* src = qp + b * qs[0] + h * qs[1] + t * qs[2];
        for (int64_t d = 0; d < D; ++d) w.q[i * D + d] = to_float(src[d]) * a.scale;
        const float* mrow = mp ? mp + b * a.mask.strides()[0] + h * a.mask.strides()[1] + t * a.mask.strides()[2] : nullptr;
        const int64_t last = a.causal ? t + Tk - Tq : Tk - 1;
        w.rows.push_back({mrow, last});
        key_end = std::max(key_end, std::min(last + 1, Tk));
      }
      std::fill(w.o.begin(), w.o.end(), 0.f);
      std::fill(w.m.begin(), w.m.end(), kNegInf);
      std::fill(w.l.begin(), w.l.end(), 0.f);
      // Key blocks past every row's causal limit are skipped.
      for (int64_t k0 = 0; k0 < key_end; k0 += kKeys) {
        const int nk = int(std::min<int64_t>(kKeys, Tk - k0));
        if (nk < kKeys) std::fill(w.kt.begin(), w.kt.end(), 0.f);
        for (int j = 0; j < nk; ++j) {
          const T* ksrc = kp + b * ks[0] + hk * ks[1] + (k0 + j) * ks[2];
          const T* vsrc = vp + b * vs[0] + hk * vs[1] + (k0 + j) * vs[2];
          for (int64_t d = 0; d < D; ++d) w.kt[d * kKeys + j] = to_float(ksrc[d]);
          for (int64_t d = 0; d < Dv; ++d) w.v[j * w.dvp + d] = to_float(vsrc[d]);
        }
        qk_block(w.q.data(), D, w.kt.data(), w.s.data(), padded);
        softmax_block(w.s.data(), w.rows, padded, a.mask_kind, k0, nk, w.m.data(), w.l.data(), w.alpha.data());
        pv_block(w.s.data(), w.v.data(), w.dvp, w.alpha.data(), w.o.data(), padded, nk);
      }
      for (int i = 0; i < nrows; ++i) {
        const int64_t h = hk * group + (r0 + i) / Tq, t = (r0 + i) % Tq;
        T* dst = op + ((b * Hq + h) * Tq + t) * Dv;
        const float inv = w.l[i] > 0 ? 1.f / w.l[i] : 0.f;  // fully masked rows: zeros
        for (int64_t d = 0; d < Dv; ++d) dst[d] = from_float<T>(w.o[i * w.dvp + d] * inv);
      }
    }
  }
}

void attention_cpu(const AttentionArgs& a) {
  visit_dtype(a.q.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) attention_typed<T>(a);
    else fail("scaled_dot_product_attention", "unsupported dtype ", dtype_name(a.q.dtype()));
  });
}

const OpRegistration reg(attention_kernel, DeviceKind::cpu, attention_cpu);

}  // namespace
}  // namespace glint::cpu
