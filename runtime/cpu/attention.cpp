// CPU attention, flash-style: each task takes up to kRows query rows that share one (batch, kv head) — consecutive
// positions of one head in prefill, the query heads of a GQA group in decode — and streams blocks of kKeys keys
// through an online softmax (running max and sum per row), so the scores never exceed kRows x kKeys floats and each
// K/V block is converted to f32 once per task. Tasks run in parallel with OpenMP.
//
// One key block (q k^T, softmax, p v on f32 buffers) is a template over the vector width, built once per x86 level
// with GCC vector types (AVX-512: 16 floats, AVX2+FMA: 8, SSE2: 4) and chosen at run time, so the library needs no
// -march flag. Each width has its own register blocking: vectors wider than the target's would spill.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "runtime/cpu/elem.h"
#include "runtime/ops/attention.h"

// The vector helpers below are always inlined into their callers, so the ABI note GCC emits for passing wide
// vectors to functions built without that ISA does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace glint::cpu {
namespace {

constexpr int kKeys = 64;  // keys per block
constexpr int kRows = 64;  // query rows per task; a multiple of the micro-kernels' 4-row blocks
constexpr int kPad = 16;   // v and o rows are padded to this many floats, a multiple of every vector width
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// W-lane vectors. The attribute sits on a class member typedef: GCC drops vector_size on a dependent alias template.
template <int W>
struct VecTypes {
  typedef float f __attribute__((vector_size(W * sizeof(float))));
  typedef int32_t i __attribute__((vector_size(W * sizeof(int32_t))));
};
template <int W>
using Vec = typename VecTypes<W>::f;
template <int W>
using IVec = typename VecTypes<W>::i;

template <int W>
[[gnu::always_inline]] inline Vec<W> load(const float* p) {
  Vec<W> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <int W>
[[gnu::always_inline]] inline void store(float* p, Vec<W> v) { std::memcpy(p, &v, sizeof v); }
template <int W>
[[gnu::always_inline]] inline Vec<W> splat(float x) { return Vec<W>{} + x; }
template <int W>
[[gnu::always_inline]] inline float hmax(Vec<W> v, float init) {
  for (int i = 0; i < W; ++i) init = std::max(init, v[i]);
  return init;
}
template <int W>
[[gnu::always_inline]] inline float hsum(Vec<W> v) {
  float s = 0;
  for (int i = 0; i < W; ++i) s += v[i];
  return s;
}

// 2^x for x <= 0 as 2^n * p(f), n = round(x), |f| <= 1/2, p a degree-7 Taylor polynomial (relative error < 2e-7),
// lane-wise without calls or branches. Below -127 (and for -inf) it returns 0 (or a negligible subnormal).
template <int W>
[[gnu::always_inline]] inline Vec<W> exp2_neg(Vec<W> x) {
  const Vec<W> lo = splat<W>(-127.f);
  x = x < lo ? lo : x;
  // Adding 1.5 * 2^23 rounds x to an integer held in the low mantissa bits (bits 0x4b400000 + n).
  const Vec<W> big = x + 12582912.f, n = big - 12582912.f;
  const Vec<W> f = (x - n) * 0.693147180559945f;
  Vec<W> p = splat<W>(1.f / 5040);
  for (float c : {1.f / 720, 1.f / 120, 1.f / 24, 1.f / 6, 1.f / 2, 1.f, 1.f}) p = p * f + c;
  return (Vec<W>)((IVec<W>)p + ((IVec<W>)big - 0x4b400000) * (1 << 23));
}

// Register blocking per width: R rows x C vectors of accumulators plus C loaded vectors fit the target's registers
// (AVX-512: 16 + 4 of 32; AVX2 and SSE2: 8 + 4 of 16).
template <int W>
constexpr int kTileRows = W == 16 ? 4 : 2;
constexpr int kTileVecs = 4;

// s[i][0:kKeys] = sum_d q[i][d] * kt[d][0:kKeys] for i < rows (rows % 4 == 0); kt streams once per tile of rows.
template <int W>
[[gnu::always_inline]] inline void qk_block(const float* q, int64_t dim, const float* kt, float* s, int rows) {
  constexpr int R = kTileRows<W>, C = kTileVecs;
  for (int i = 0; i < rows; i += R)
    for (int c0 = 0; c0 < kKeys; c0 += C * W) {
      Vec<W> acc[R][C] = {};
      for (int64_t d = 0; d < dim; ++d) {
        Vec<W> k[C];
        for (int x = 0; x < C; ++x) k[x] = load<W>(kt + d * kKeys + c0 + x * W);
        for (int r = 0; r < R; ++r) {
          const float qv = q[(i + r) * dim + d];
          for (int x = 0; x < C; ++x) acc[r][x] += qv * k[x];
        }
      }
      for (int r = 0; r < R; ++r)
        for (int x = 0; x < C; ++x) store<W>(s + (i + r) * kKeys + c0 + x * W, acc[r][x]);
    }
}

// o[i][c:c+N*W] = alpha[i] * o[i][...] + sum_{j<nk} p[i][j] * v[j][...] for the R rows from i.
template <int W, int N>
[[gnu::always_inline]] inline void pv_tile(const float* p, const float* v, int64_t ld, const float* alpha, float* o,
                                           int i, int64_t c, int nk) {
  constexpr int R = kTileRows<W>;
  Vec<W> acc[R][N];
  for (int r = 0; r < R; ++r)
    for (int x = 0; x < N; ++x) acc[r][x] = alpha[i + r] * load<W>(o + (i + r) * ld + c + x * W);
  for (int j = 0; j < nk; ++j) {
    Vec<W> vj[N];
    for (int x = 0; x < N; ++x) vj[x] = load<W>(v + j * ld + c + x * W);
    for (int r = 0; r < R; ++r) {
      const float pr = p[(i + r) * kKeys + j];
      for (int x = 0; x < N; ++x) acc[r][x] += pr * vj[x];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int x = 0; x < N; ++x) store<W>(o + (i + r) * ld + c + x * W, acc[r][x]);
}

// o = diag(alpha) o + p v over all rows (rows % 4 == 0) and ld columns (ld % kPad == 0).
template <int W>
[[gnu::always_inline]] inline void pv_block(const float* p, const float* v, int64_t ld, const float* alpha, float* o,
                                            int rows, int nk) {
  for (int i = 0; i < rows; i += kTileRows<W>) {
    int64_t c = 0;
    for (; c + kTileVecs * W <= ld; c += kTileVecs * W) pv_tile<W, kTileVecs>(p, v, ld, alpha, o, i, c, nk);
    for (; c < ld; c += W) pv_tile<W, 1>(p, v, ld, alpha, o, i, c, nk);
  }
}

// What the softmax needs of each query row of a task.
struct Row {
  const float* mask;  // this row of the (B, Hq, Tq, Tk) mask view, or null
  int64_t last_key;   // causal: the last key it may see (may be < 0); otherwise Tk - 1
};

// Masks one block of scores (keys k0 .. k0 + kKeys, nk of them real) and folds it into each row's running max m and
// sum l; leaves probabilities in s and each row's rescale factor for o in alpha. Rows >= rows.size() get p = 0.
template <int W>
[[gnu::always_inline]] inline void softmax_block(float* s, const std::vector<Row>& rows, int padded_rows,
                                                 AttentionMask kind, int64_t k0, int nk, float* m, float* l,
                                                 float* alpha) {
  constexpr int NV = kKeys / W;
  for (int i = 0; i < padded_rows; ++i) {
    float* r = s + i * kKeys;
    const int n = i < int(rows.size()) ? int(std::clamp<int64_t>(rows[i].last_key - k0 + 1, 0, nk)) : 0;
    for (int j = n; j < kKeys; ++j) r[j] = kNegInf;
    if (kind == AttentionMask::additive)
      for (int j = 0; j < n; ++j) r[j] += rows[i].mask[k0 + j];
    else if (kind == AttentionMask::keep)
      for (int j = 0; j < n; ++j) r[j] = rows[i].mask[k0 + j] != 0.f ? r[j] : kNegInf;
    Vec<W> v[NV], mx = splat<W>(kNegInf);
    for (int c = 0; c < NV; ++c) {
      v[c] = load<W>(r + c * W);
      mx = v[c] > mx ? v[c] : mx;
    }
    const float m_new = hmax<W>(mx, m[i]);
    if (m_new == kNegInf) {  // nothing seen yet in this row: o stays zero
      alpha[i] = 1.f;
      std::fill_n(r, kKeys, 0.f);
      continue;
    }
    alpha[i] = exp2_neg<W>(splat<W>((m[i] - m_new) * kLog2e))[0];
    Vec<W> sum = {};
    for (int c = 0; c < NV; ++c) {
      const Vec<W> p = exp2_neg<W>((v[c] - m_new) * kLog2e);
      store<W>(r + c * W, p);
      sum += p;
    }
    l[i] = l[i] * alpha[i] + hsum<W>(sum);
    m[i] = m_new;
  }
}

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Per-thread f32 buffers of one task: its queries (pre-scaled), one key block transposed (D x kKeys), one value
// block (kKeys x dvp), scores, output accumulators and the running softmax state of each row.
struct Workspace {
  int64_t dim, dvp;  // head dims; dvp = Dv rounded up to kPad (zero columns)
  std::vector<float> q, kt, v, s, o, m, l, alpha;
  std::vector<Row> rows;
  Workspace(int64_t d, int64_t dv)
      : dim(d), dvp(round_up(dv, kPad)), q(kRows * d), kt(d * kKeys), v(kKeys * dvp), s(kRows * kKeys),
        o(kRows * dvp), m(kRows), l(kRows), alpha(kRows) {}
};

// Folds the key block in w.kt / w.v (keys k0.., nk of them) into the task's padded_rows rows.
template <int W>
[[gnu::always_inline]] inline void key_block(Workspace& w, int padded_rows, AttentionMask kind, int64_t k0, int nk) {
  qk_block<W>(w.q.data(), w.dim, w.kt.data(), w.s.data(), padded_rows);
  softmax_block<W>(w.s.data(), w.rows, padded_rows, kind, k0, nk, w.m.data(), w.l.data(), w.alpha.data());
  pv_block<W>(w.s.data(), w.v.data(), w.dvp, w.alpha.data(), w.o.data(), padded_rows, nk);
}

using KeyBlockFn = void (*)(Workspace&, int, AttentionMask, int64_t, int);

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
[[gnu::target("arch=x86-64-v4")]] void key_block_avx512(Workspace& w, int rows, AttentionMask kind, int64_t k0, int nk) {
  key_block<16>(w, rows, kind, k0, nk);
}
[[gnu::target("arch=x86-64-v3")]] void key_block_avx2(Workspace& w, int rows, AttentionMask kind, int64_t k0, int nk) {
  key_block<8>(w, rows, kind, k0, nk);
}
#endif
void key_block_baseline(Workspace& w, int rows, AttentionMask kind, int64_t k0, int nk) {
  key_block<4>(w, rows, kind, k0, nk);
}

// The widest variant this CPU runs.
KeyBlockFn pick_key_block() {
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4")) return key_block_avx512;
  if (__builtin_cpu_supports("x86-64-v3")) return key_block_avx2;
#endif
  return key_block_baseline;
}

template <class T>
void attention_typed(const AttentionArgs& a) {
  const Shape &qs = a.q.strides(), &ks = a.k.strides(), &vs = a.v.strides();
  const int64_t B = a.out.dim(0), Hq = a.out.dim(1), Tq = a.out.dim(2), Dv = a.out.dim(3);
  const int64_t Hkv = a.k.dim(1), Tk = a.k.dim(2), D = a.q.dim(3), group = Hq / Hkv;
  const int64_t rows_per_kv = group * Tq, blocks = (rows_per_kv + kRows - 1) / kRows;
  const T *qp = ptr<T>(a.q), *kp = ptr<T>(a.k), *vp = ptr<T>(a.v);
  const float* mp = a.mask.defined() ? ptr<float>(a.mask) : nullptr;
  T* op = ptr<T>(a.out);
  static const KeyBlockFn step = pick_key_block();

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
        step(w, padded, a.mask_kind, k0, nk);
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
