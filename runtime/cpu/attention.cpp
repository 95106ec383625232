// CPU attention, flash-style: each task takes up to kRows query rows that share one (batch, kv head) — consecutive
// positions of one head in prefill, the query heads of a GQA group in decode — and streams blocks of kKeys keys
// through an online softmax (running max and sum per row), so the scores never exceed kRows x kKeys floats and each
// K/V block is converted to f32 once per task. Tasks run in parallel with OpenMP.
//
// That conversion (and the transpose of each key block) is paid once per task for every key the task's rows see,
// so without a causal mask a task takes kRows rows; causal tasks take kCausalRows, which skip more key blocks past
// their rows' diagonal. For a UNet's self-attention over 4096 latent pixels, 128 rows instead of 64 made the kernel
// about 10% faster on one AVX-512 core; for causal prefill, 128 rows were no faster.
//
// A task (conversions, q k^T, softmax, p v on f32 buffers) is a template over the vector width, built once per x86
// level with GCC vector types (AVX-512: 16 floats, AVX2+FMA: 8, SSE2: 4) and chosen at run time, so the library
// needs no -march flag (other compilers and CPUs get the 4-wide build). Each width has its own register blocking:
// vectors wider than the target's would spill.
#include "runtime/ops/attention.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "runtime/cpu/elem.h"

// The vector helpers below are always inlined into their callers, so the ABI note GCC emits for passing wide
// vectors to functions built without that ISA does not apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace glint::cpu {
namespace {

constexpr int kKeys = 64;  // keys per block
constexpr int kRows = 128;       // query rows per task (at most); a multiple of the micro-kernels' 4-row blocks
constexpr int kCausalRows = 64;  // query rows per causal task
constexpr int kPad = 16;   // f32 rows of q, k, v and o are padded to this, a multiple of every vector width
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
[[gnu::always_inline]] inline void store(float* p, Vec<W> v) {
  std::memcpy(p, &v, sizeof v);
}
template <int W>
[[gnu::always_inline]] inline Vec<W> splat(float x) {
  return Vec<W>{} + x;
}
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

// s[i][0:kKeys] = sum_d q[i][d] * kt[d][0:kKeys] for i < rows (rows % 4 == 0), q rows ld floats apart: outer
// products against a transposed k block, which streams once per tile of rows.
template <int W>
[[gnu::always_inline]] inline void qk_transposed(const float* q, int64_t ld, int64_t dim, const float* kt, float* s,
                                                 int rows) {
  constexpr int R = kTileRows<W>, C = kTileVecs;
  for (int i = 0; i < rows; i += R)
    for (int c0 = 0; c0 < kKeys; c0 += C * W) {
      Vec<W> acc[R][C] = {};
      for (int64_t d = 0; d < dim; ++d) {
        Vec<W> k[C];
        for (int x = 0; x < C; ++x) k[x] = load<W>(kt + d * kKeys + c0 + x * W);
        for (int r = 0; r < R; ++r) {
          const float qv = q[(i + r) * ld + d];
          for (int x = 0; x < C; ++x) acc[r][x] += qv * k[x];
        }
      }
      for (int r = 0; r < R; ++r)
        for (int x = 0; x < C; ++x) store<W>(s + (i + r) * kKeys + c0 + x * W, acc[r][x]);
    }
}

// s[i][j] = q[i] . k[j] for i < rows (rows % 4 == 0) and j < nk, with q and k rows of ld floats (ld % kPad == 0,
// zero padded): dot products against k rows as stored, for tasks with too few rows to pay for a transpose.
template <int W>
[[gnu::always_inline]] inline void qk_rows(const float* q, int64_t ld, const float* k, float* s, int rows, int nk) {
  for (int j = 0; j < nk; ++j)
    for (int i = 0; i < rows; i += 4) {
      Vec<W> acc[4] = {};
      for (int64_t d = 0; d < ld; d += W) {
        const Vec<W> kv = load<W>(k + j * ld + d);
        for (int r = 0; r < 4; ++r) acc[r] += load<W>(q + (i + r) * ld + d) * kv;
      }
      for (int r = 0; r < 4; ++r) s[(i + r) * kKeys + j] = hsum<W>(acc[r]);
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
  int64_t first_key;  // sliding window: the first key it may see (may be < 0); otherwise 0
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
    const int first = i < int(rows.size()) ? int(std::clamp<int64_t>(rows[i].first_key - k0, 0, n)) : 0;
    for (int j = 0; j < first; ++j) r[j] = kNegInf;
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

// f16 bits -> float without branches or selects, so conversion loops vectorise on every x86 level (elem.h's version
// loops over subnormals): multiplying by 2^112 rebiases the exponent and normalises subnormals exactly; for inf and
// NaN that leaves exponent bits 0x47800000, a subset of the 0x7f800000 OR-ed in. Checked bit-exact on all inputs.
inline float f16_to_f32_flat(uint16_t h) {
  const uint32_t em = h & 0x7fffu, sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t bits = std::bit_cast<uint32_t>(std::bit_cast<float>(em << 13) * 0x1p112f);
  return std::bit_cast<float>(bits | (0x7f800000u & -uint32_t(em >= 0x7c00u)) | sign);
}
template <class T>
[[gnu::always_inline]] inline float load_f32(T x) {
  if constexpr (std::is_same_v<T, f16_t>)
    return f16_to_f32_flat(x.bits);
  else
    return to_float(x);
}

// Tasks with at most this many query rows (decode) use qk_rows; more rows share a transposed k block.
constexpr int kMaxRowsForRowMajorK = 8;

// Per-thread f32 buffers of one task: its queries (pre-scaled), one key block (row-major kKeys x dp or transposed
// dp x kKeys), one value block (kKeys x dvp), scores, output accumulators and each row's running softmax state.
struct Workspace {
  int64_t dp, dvp;  // head dims rounded up to kPad; padding columns stay zero
  std::vector<float> q, k, v, s, o, m, l, alpha;
  std::vector<Row> rows;
  Workspace(int64_t d, int64_t dv)
      : dp(round_up(d, kPad)),
        dvp(round_up(dv, kPad)),
        q(kRows * dp),
        k(kKeys * dp),
        v(kKeys * dvp),
        s(kRows * kKeys),
        o(kRows * dvp),
        m(kRows),
        l(kRows),
        alpha(kRows) {}
};

// Everything a task reads, for element type T.
template <class T>
struct Problem {
  const T *q, *k, *v;
  T* out;
  const float* mask;
  Shape qs, ks, vs, ms;  // strides
  int64_t Hq, Tq, Dv, Hkv, Tk, D, group, rows_per_kv, task_rows, blocks, window;
  float scale;
  bool causal;
  AttentionMask kind;
};

// One task: rows r0 .. r0 + task_rows of (batch b, kv head hk), i.e. query head hk * group + r / Tq at position r % Tq.
template <class T, int W>
[[gnu::always_inline]] inline void run_task(const Problem<T>& p, Workspace& w, int64_t task) {
  const int64_t b = task / (p.Hkv * p.blocks), hk = task / p.blocks % p.Hkv, r0 = task % p.blocks * p.task_rows;
  const int nrows = int(std::min<int64_t>(p.task_rows, p.rows_per_kv - r0)), padded = int(round_up(nrows, 4));
  const bool row_major = padded <= kMaxRowsForRowMajorK;
  w.rows.clear();
  std::fill_n(w.q.begin(), padded * w.dp, 0.f);
  int64_t key_begin = p.Tk, key_end = 0;
  for (int i = 0; i < nrows; ++i) {
    const int64_t h = hk * p.group + (r0 + i) / p.Tq, t = (r0 + i) % p.Tq;
    const T* src = p.q + b * p.qs[0] + h * p.qs[1] + t * p.qs[2];
    for (int64_t d = 0; d < p.D; ++d) w.q[i * w.dp + d] = load_f32(src[d]) * p.scale;
    const float* mrow = p.mask ? p.mask + b * p.ms[0] + h * p.ms[1] + t * p.ms[2] : nullptr;
    const int64_t last = p.causal ? t + p.Tk - p.Tq : p.Tk - 1;
    const int64_t first = p.window > 0 ? std::max<int64_t>(0, last - p.window + 1) : 0;
    w.rows.push_back({mrow, first, last});
    key_begin = std::min(key_begin, first);
    key_end = std::max(key_end, std::min(last + 1, p.Tk));
  }
  std::fill_n(w.o.begin(), padded * w.dvp, 0.f);
  std::fill_n(w.m.begin(), padded, kNegInf);
  std::fill_n(w.l.begin(), padded, 0.f);
  // Key blocks past every row's causal limit, or before every row's window, are skipped.
  for (int64_t k0 = key_begin; k0 < key_end; k0 += kKeys) {
    const int nk = int(std::min<int64_t>(kKeys, p.Tk - k0));
    if (!row_major && nk < kKeys) std::fill(w.k.begin(), w.k.end(), 0.f);
    for (int j = 0; j < nk; ++j) {
      const T* ksrc = p.k + b * p.ks[0] + hk * p.ks[1] + (k0 + j) * p.ks[2];
      const T* vsrc = p.v + b * p.vs[0] + hk * p.vs[1] + (k0 + j) * p.vs[2];
      if (row_major)
        for (int64_t d = 0; d < p.D; ++d) w.k[j * w.dp + d] = load_f32(ksrc[d]);
      else
        for (int64_t d = 0; d < p.D; ++d) w.k[d * kKeys + j] = load_f32(ksrc[d]);
      for (int64_t d = 0; d < p.Dv; ++d) w.v[j * w.dvp + d] = load_f32(vsrc[d]);
    }
    if (row_major)
      qk_rows<W>(w.q.data(), w.dp, w.k.data(), w.s.data(), padded, nk);
    else
      qk_transposed<W>(w.q.data(), w.dp, p.D, w.k.data(), w.s.data(), padded);
    softmax_block<W>(w.s.data(), w.rows, padded, p.kind, k0, nk, w.m.data(), w.l.data(), w.alpha.data());
    pv_block<W>(w.s.data(), w.v.data(), w.dvp, w.alpha.data(), w.o.data(), padded, nk);
  }
  for (int i = 0; i < nrows; ++i) {
    const int64_t h = hk * p.group + (r0 + i) / p.Tq, t = (r0 + i) % p.Tq;
    T* dst = p.out + ((b * p.Hq + h) * p.Tq + t) * p.Dv;
    const float inv = w.l[i] > 0 ? 1.f / w.l[i] : 0.f;  // fully masked rows: zeros
    for (int64_t d = 0; d < p.Dv; ++d) dst[d] = from_float<T>(w.o[i * w.dvp + d] * inv);
  }
}

template <class T>
using TaskFn = void (*)(const Problem<T>&, Workspace&, int64_t);

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
template <class T>
[[gnu::target("arch=x86-64-v4")]] void task_avx512(const Problem<T>& p, Workspace& w, int64_t task) {
  run_task<T, 16>(p, w, task);
}
template <class T>
[[gnu::target("arch=x86-64-v3")]] void task_avx2(const Problem<T>& p, Workspace& w, int64_t task) {
  run_task<T, 8>(p, w, task);
}
#endif
template <class T>
void task_baseline(const Problem<T>& p, Workspace& w, int64_t task) {
  run_task<T, 4>(p, w, task);
}

// The widest variant this CPU runs.
template <class T>
TaskFn<T> pick_task() {
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4")) return task_avx512<T>;
  if (__builtin_cpu_supports("x86-64-v3")) return task_avx2<T>;
#endif
  return task_baseline<T>;
}

template <class T>
void attention_typed(const AttentionArgs& a) {
  static const TaskFn<T> run = pick_task<T>();
  Problem<T> p{ptr<T>(a.q),
               ptr<T>(a.k),
               ptr<T>(a.v),
               ptr<T>(a.out),
               a.mask.defined() ? ptr<float>(a.mask) : nullptr,
               a.q.strides(),
               a.k.strides(),
               a.v.strides(),
               a.mask.defined() ? a.mask.strides() : Shape(4, 0)};
  p.Hq = a.out.dim(1), p.Tq = a.out.dim(2), p.Dv = a.out.dim(3), p.Hkv = a.k.dim(1), p.Tk = a.k.dim(2);
  p.D = a.q.dim(3), p.group = p.Hq / p.Hkv, p.rows_per_kv = p.group * p.Tq;
  p.task_rows = a.causal ? kCausalRows : kRows, p.blocks = (p.rows_per_kv + p.task_rows - 1) / p.task_rows;
  p.scale = a.scale, p.causal = a.causal, p.kind = a.mask_kind, p.window = a.window;
  const int64_t tasks = a.out.dim(0) * p.Hkv * p.blocks;
#pragma omp parallel
  {
    Workspace w(p.D, p.Dv);
#pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < tasks; ++task) run(p, w, task);
  }
}

void attention_cpu(const AttentionArgs& a) {
  visit_dtype(a.q.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>)
      attention_typed<T>(a);
    else
      fail("scaled_dot_product_attention", "unsupported dtype ", dtype_name(a.q.dtype()));
  });
}

const OpRegistration reg(attention_kernel, DeviceKind::cpu, attention_cpu);

}  // namespace
}  // namespace glint::cpu
