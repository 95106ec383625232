// CPU attention, flash-style: each task takes up to kRows query rows that share one (batch, kv head) — consecutive
// positions of one head in prefill, the query heads of a GQA group in decode — and streams blocks of kKeys keys
// through an online softmax (running max and sum per row), so the scores never exceed kRows x kKeys floats. K/V
// blocks are converted to f32 once per task (f32 ones are read in place). Tasks run in parallel with OpenMP.
//
// The scores are kept transposed, keys x query rows, with query rows in vector lanes: q k^T broadcasts key elements
// against vectors of (transposed, once per task) queries, the softmax runs down columns without horizontal
// reductions, and p v broadcasts probabilities against value rows. Neither product needs a key block transposed, and
// both keep up to 24 accumulators in flight, which on a full-width AVX-512 core runs near two FMAs per cycle.
// Decode tasks (a few rows) take dot products against key rows instead and write the same transposed layout.
//
// A key block's conversion is paid once per task, so without a causal mask a task takes kRows rows; causal tasks
// take kCausalRows, which skip more key blocks past their rows' diagonal.
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

constexpr int kKeys = 64;        // keys per block
constexpr int kRows = 128;       // query rows per task (at most); a multiple of every width's q k^T row tile
constexpr int kCausalRows = 64;  // query rows per causal task, likewise
constexpr int kPad = 16;         // f32 rows of q, k, v and o are padded to this, a multiple of every vector width
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
[[gnu::always_inline]] inline IVec<W> load_lanes(const int32_t* p) {
  IVec<W> v;
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
// v's lanes summed in four groups (lane i gets lanes i, i + 4, ...): halves added, so the sums stay in vectors.
template <int W>
[[gnu::always_inline]] inline Vec<4> fold4(Vec<W> v) {
  if constexpr (W == 4) {
    return v;
  } else {
    Vec<W / 2> lo, hi;
    std::memcpy(&lo, &v, sizeof lo);
    std::memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof lo, sizeof hi);
    return fold4<W / 2>(lo + hi);
  }
}
// {sum(a), sum(b), sum(c), sum(d)}: a 4 x 4 transpose folded into its additions.
[[gnu::always_inline]] inline Vec<4> sum4(Vec<4> a, Vec<4> b, Vec<4> c, Vec<4> d) {
  const Vec<4> ab = __builtin_shufflevector(a, b, 0, 2, 4, 6) + __builtin_shufflevector(a, b, 1, 3, 5, 7);
  const Vec<4> cd = __builtin_shufflevector(c, d, 0, 2, 4, 6) + __builtin_shufflevector(c, d, 1, 3, 5, 7);
  return __builtin_shufflevector(ab, cd, 0, 2, 4, 6) + __builtin_shufflevector(ab, cd, 1, 3, 5, 7);
}

// 2^x for x <= 0 as 2^n * p(f), n = round(x), |f| <= 1/2, p the degree-7 Taylor polynomial of e^(f ln 2) (relative
// error < 2e-7), lane-wise without calls or branches. Below -127 (and for -inf) it returns 0 (or a negligible
// subnormal). p = 1 + f q(f), q in Estrin's scheme: four multiply-adds deep instead of Horner's seven, as the
// softmax issues one 2^x per score and is bound by that latency, not by the extra multiply.
template <int W>
[[gnu::always_inline]] inline Vec<W> exp2_neg(Vec<W> x) {
  const Vec<W> lo = splat<W>(-127.f);
  x = x < lo ? lo : x;
  // Adding 1.5 * 2^23 rounds x to an integer held in the low mantissa bits (bits 0x4b400000 + n).
  const Vec<W> big = x + 12582912.f, n = big - 12582912.f;
  const Vec<W> f = x - n, f2 = f * f, f4 = f2 * f2;
  // c_k = ln(2)^k / k!
  constexpr float c1 = 0x1.62e430p-1f, c2 = 0x1.ebfbe0p-3f, c3 = 0x1.c6b08ep-5f, c4 = 0x1.3b2ab6p-7f,
                  c5 = 0x1.5d87fep-10f, c6 = 0x1.430912p-13f, c7 = 0x1.ffcbfcp-17f;
  const Vec<W> q = (f * c2 + c1 + f2 * (f * c4 + c3)) + f4 * ((f * c6 + c5) + f2 * c7), p = f * q + 1.f;
  return (Vec<W>)((IVec<W>)p + ((IVec<W>)big - 0x4b400000) * (1 << 23));
}

// Register blocking per width, sized so accumulators, loaded vectors and a broadcast fit the target's registers
// (AVX-512: 32, AVX2 and SSE2: 16). q k^T: kQkKeys keys x kQkVecs vectors of query rows; p v: kPvRows rows x
// kTileVecs vectors of value columns.
template <int W>
constexpr int kQkKeys = W == 16 ? 12 : 6;
constexpr int kQkVecs = 2;
template <int W>
constexpr int kPvRows = W == 16 ? 6 : 2;
constexpr int kTileVecs = 4;

// Calls f.template operator()<n>() for a run-time 1 <= n <= N: the tail of a loop over tiles of N rows.
template <int N, class F>
[[gnu::always_inline]] inline void with_count(int n, F&& f) {
  if constexpr (N > 0) {
    if (n == N)
      f.template operator()<N>();
    else
      with_count<N - 1>(n, f);
  }
}

// st[j][i .. i + C*W] = sum_d k[j][d] * qt[d][i ..] for the K keys from j: query rows in lanes, so each step loads C
// vectors of queries and broadcasts K key elements straight from k's rows, which need no transpose. Folds the
// scores into each row's block max smax, which saves the softmax a pass.
template <int W, int K, int C>
[[gnu::always_inline]] inline void qk_tile(const float* qt, const float* k, int64_t ldk, int64_t dim, float* st,
                                           float* smax, int j, int i) {
  Vec<W> acc[K][C] = {};
  for (int64_t d = 0; d < dim; ++d) {
    Vec<W> q[C];
    for (int x = 0; x < C; ++x) q[x] = load<W>(qt + d * kRows + i + x * W);
    for (int r = 0; r < K; ++r) {
      const float kv = k[(j + r) * ldk + d];
      for (int x = 0; x < C; ++x) acc[r][x] += kv * q[x];
    }
  }
  for (int x = 0; x < C; ++x) {
    Vec<W> mx = load<W>(smax + i + x * W);
    for (int r = 0; r < K; ++r) {
      store<W>(st + (j + r) * kRows + i + x * W, acc[r][x]);
      mx = acc[r][x] > mx ? acc[r][x] : mx;
    }
    store<W>(smax + i + x * W, mx);
  }
}

// How many of a block's nk keys, from key k0, any of rows i0 .. i1 may see, given each row's last key.
inline int keys_seen(const int32_t* last, int i0, int i1, int64_t k0, int nk) {
  return int(std::clamp<int64_t>(*std::max_element(last + i0, last + i1) - k0 + 1, 0, nk));
}

// st[j][i] = q[i] . k[j] for i < rows (rows % kQkVecs * W == 0) and j < nk, from the transposed queries qt
// (dim x kRows) and k rows of ldk floats; smax[i] = max_j st[j][i]. Keys past the last that each tile of rows may
// see (causal) are left out: the softmax masks them whatever st holds.
template <int W>
[[gnu::always_inline]] inline void qk_transposed(const float* qt, const float* k, int64_t ldk, int64_t dim, float* st,
                                                 float* smax, int rows, const int32_t* last, int64_t k0, int nk) {
  constexpr int K = kQkKeys<W>, C = kQkVecs;
  std::fill_n(smax, rows, kNegInf);
  for (int i = 0; i < rows; i += C * W) {
    const int n = keys_seen(last, i, i + C * W, k0, nk);
    int j = 0;
    for (; j + K <= n; j += K) qk_tile<W, K, C>(qt, k, ldk, dim, st, smax, j, i);
    // The lambda is inlined so that it is compiled for this x86 level, not the baseline.
    with_count<K - 1>(
        n - j, [&]<int N>() __attribute__((always_inline)) { qk_tile<W, N, C>(qt, k, ldk, dim, st, smax, j, i); });
  }
}

// st[j][i] = q[i] . k[j] for i < rows (rows % 4 == 0) and j < nk, with q rows of ld floats (ld % kPad == 0, zero
// padded) and k rows of ld floats, ldk apart: dot products against k rows as stored, for tasks with too few rows to
// fill a vector of lanes. Each key's four dot products are reduced together into one vector of rows in lanes.
template <int W>
[[gnu::always_inline]] inline void qk_rows(const float* q, int64_t ld, const float* k, int64_t ldk, float* st, int rows,
                                           int nk) {
  for (int j = 0; j < nk; ++j)
    for (int i = 0; i < rows; i += 4) {
      Vec<W> acc[4] = {};
      for (int64_t d = 0; d < ld; d += W) {
        const Vec<W> kv = load<W>(k + j * ldk + d);
        for (int r = 0; r < 4; ++r) acc[r] += load<W>(q + (i + r) * ld + d) * kv;
      }
      store<4>(st + j * kRows + i, sum4(fold4<W>(acc[0]), fold4<W>(acc[1]), fold4<W>(acc[2]), fold4<W>(acc[3])));
    }
}

// o[i][c:c+N*W] = alpha[i] * o[i][...] + sum_{j<nk} pt[j][i] * v[j][...] for the R rows from i, with o rows of ld
// floats and v rows ldv apart.
template <int W, int R, int N>
[[gnu::always_inline]] inline void pv_tile(const float* pt, const float* v, int64_t ldv, int64_t ld, const float* alpha,
                                           float* o, int i, int64_t c, int nk) {
  Vec<W> acc[R][N];
  for (int r = 0; r < R; ++r)
    for (int x = 0; x < N; ++x) acc[r][x] = alpha[i + r] * load<W>(o + (i + r) * ld + c + x * W);
  for (int j = 0; j < nk; ++j) {
    Vec<W> vj[N];
    for (int x = 0; x < N; ++x) vj[x] = load<W>(v + j * ldv + c + x * W);
    for (int r = 0; r < R; ++r) {
      const float pr = pt[j * kRows + i + r];
      for (int x = 0; x < N; ++x) acc[r][x] += pr * vj[x];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int x = 0; x < N; ++x) store<W>(o + (i + r) * ld + c + x * W, acc[r][x]);
}

// o = diag(alpha) o + p v over R rows from i and ld columns (ld % kPad == 0).
template <int W, int R>
[[gnu::always_inline]] inline void pv_rows(const float* pt, const float* v, int64_t ldv, int64_t ld, const float* alpha,
                                           float* o, int i, int nk) {
  int64_t c = 0;
  for (; c + kTileVecs * W <= ld; c += kTileVecs * W) pv_tile<W, R, kTileVecs>(pt, v, ldv, ld, alpha, o, i, c, nk);
  for (; c < ld; c += W) pv_tile<W, R, 1>(pt, v, ldv, ld, alpha, o, i, c, nk);
}

// o = diag(alpha) o + p v over all rows and ld columns, p given transposed (keys x kRows). Each tile of rows stops
// at the last key it may see (past it, p = 0).
template <int W>
[[gnu::always_inline]] inline void pv_block(const float* pt, const float* v, int64_t ldv, int64_t ld,
                                            const float* alpha, float* o, int rows, const int32_t* last, int64_t k0,
                                            int nk) {
  constexpr int R = kPvRows<W>;
  int i = 0;
  for (; i + R <= rows; i += R) pv_rows<W, R>(pt, v, ldv, ld, alpha, o, i, keys_seen(last, i, i + R, k0, nk));
  with_count<R - 1>(
      rows - i, [&]<int N>() __attribute__((always_inline)) {
        pv_rows<W, N>(pt, v, ldv, ld, alpha, o, i, keys_seen(last, i, i + N, k0, nk));
      });
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

// qt[d][i] = q_i[d] * scale for rows i < nrows of dim floats at src[i], zero for the padding rows up to padded: four
// rows by four columns at a time through a 4 x 4 transpose in registers, as strided scalar stores cost as much as a
// short task's q k^T.
template <class T>
[[gnu::always_inline]] inline void pack_transposed(const T* const* src, int nrows, int padded, int64_t dim, float scale,
                                                   float* qt) {
  int i = 0;
  for (; i + 4 <= nrows; i += 4) {
    int64_t d = 0;
    for (; d + 4 <= dim; d += 4) {
      Vec<4> a[4];
      for (int r = 0; r < 4; ++r) {
        const T* s = src[i + r] + d;
        a[r] = Vec<4>{load_f32(s[0]), load_f32(s[1]), load_f32(s[2]), load_f32(s[3])} * scale;
      }
      const Vec<4> t0 = __builtin_shufflevector(a[0], a[1], 0, 4, 1, 5),
                   t1 = __builtin_shufflevector(a[0], a[1], 2, 6, 3, 7);
      const Vec<4> t2 = __builtin_shufflevector(a[2], a[3], 0, 4, 1, 5),
                   t3 = __builtin_shufflevector(a[2], a[3], 2, 6, 3, 7);
      store<4>(qt + d * kRows + i, __builtin_shufflevector(t0, t2, 0, 1, 4, 5));
      store<4>(qt + (d + 1) * kRows + i, __builtin_shufflevector(t0, t2, 2, 3, 6, 7));
      store<4>(qt + (d + 2) * kRows + i, __builtin_shufflevector(t1, t3, 0, 1, 4, 5));
      store<4>(qt + (d + 3) * kRows + i, __builtin_shufflevector(t1, t3, 2, 3, 6, 7));
    }
    for (; d < dim; ++d)
      for (int r = 0; r < 4; ++r) qt[d * kRows + i + r] = load_f32(src[i + r][d]) * scale;
  }
  for (; i < padded; ++i)
    for (int64_t d = 0; d < dim; ++d) qt[d * kRows + i] = i < nrows ? load_f32(src[i][d]) * scale : 0.f;
}

// Tasks with at most this many query rows (decode) use qk_rows; more rows fill vectors of lanes in qk_transposed.
constexpr int kMaxRowsForRowMajorK = 8;

// Per-thread f32 buffers of one task: its queries (pre-scaled, to log2 units; transposed, dp x kRows, unless the task
// takes qk_rows), one key block and one value block (row-major, kKeys x dp and kKeys x dvp; unused when read in
// place), the block's scores transposed (kKeys x kRows) and their max per row, output accumulators, and each row's
// running softmax state and key limits.
struct Workspace {
  int64_t dp, dvp;  // head dims rounded up to kPad; padding columns stay zero
  float *q, *k, *v, *st, *o, *m, *l, *alpha, *smax;
  // Each row's key limits, one per lane like the scores: a sliding window's first key (else 0) and the causal last
  // key (else Tk - 1; at least -1). Padding rows see no key.
  std::vector<int32_t> first, last;
  std::vector<const float*> masks;  // each real row's row of the (B, Hq, Tq, Tk) mask view, or null
  Workspace(int64_t d, int64_t dv) : dp(round_up(d, kPad)), dvp(round_up(dv, kPad)), first(kRows), last(kRows) {
    // One allocation cut into arrays that start on cache lines (kPad floats), so no vector load straddles two.
    const int64_t sizes[] = {kRows * dp, kKeys * dp, kKeys * dvp, kKeys * kRows, kRows * dvp,
                             kRows,      kRows,      kRows,       kRows};
    int64_t total = kPad;
    for (int64_t n : sizes) total += round_up(n, kPad);
    mem_.assign(size_t(total), 0.f);
    float* next = mem_.data() + (kPad - reinterpret_cast<uintptr_t>(mem_.data()) / sizeof(float) % kPad);
    float** arrays[] = {&q, &k, &v, &st, &o, &m, &l, &alpha, &smax};
    for (int i = 0; i < 9; ++i) *arrays[i] = next, next += round_up(sizes[i], kPad);
  }

 private:
  std::vector<float> mem_;
};

// Masks one block of transposed scores (keys k0 .. k0 + nk, in log2 units) and folds it into each row's running
// max m and sum l for the first `lanes` rows; leaves probabilities in st and each row's rescale factor for o in
// alpha. Rows' key limits are applied only when `limits` says the block crosses one; without them or a mask, the
// block's max comes from smax when `have_max`.
template <int W>
[[gnu::always_inline]] inline void softmax_block(Workspace& w, int lanes, AttentionMask kind, int64_t k0, int nk,
                                                 bool limits, bool have_max) {
  float* st = w.st;
  if (kind != AttentionMask::none)  // the mask's rows run across lanes: rare enough to stay scalar
    for (int i = 0; i < int(w.masks.size()); ++i)
      for (int j = 0; j < nk; ++j) {
        float& s = st[j * kRows + i];
        const float x = w.masks[i][k0 + j];
        s = kind == AttentionMask::additive ? s + x * kLog2e : x != 0.f ? s : kNegInf;
      }
  for (int i = 0; i < lanes; i += W) {
    const Vec<W> m_old = load<W>(w.m + i), neg_inf = splat<W>(kNegInf);
    Vec<W> mx = m_old;
    if (have_max && !limits && kind == AttentionMask::none) {
      const Vec<W> s = load<W>(w.smax + i);
      mx = s > mx ? s : mx;
    } else if (limits) {
      const IVec<W> first = load_lanes<W>(w.first.data() + i), last = load_lanes<W>(w.last.data() + i);
      for (int j = 0; j < nk; ++j) {
        const IVec<W> key = IVec<W>{} + int32_t(k0 + j);
        Vec<W> s = load<W>(st + j * kRows + i);
        s = (key < first) | (key > last) ? neg_inf : s;
        store<W>(st + j * kRows + i, s);
        mx = s > mx ? s : mx;
      }
    } else {
      for (int j = 0; j < nk; ++j) {
        const Vec<W> s = load<W>(st + j * kRows + i);
        mx = s > mx ? s : mx;
      }
    }
    // Rows that have seen no key yet keep o = 0, l = 0: their max stands in as 0, so every p (and alpha) is 0.
    const Vec<W> base = mx == neg_inf ? Vec<W>{} : mx;
    const Vec<W> alpha = exp2_neg<W>(m_old - base);
    Vec<W> sum = {};
    for (int j = 0; j < nk; ++j) {
      const Vec<W> p = exp2_neg<W>(load<W>(st + j * kRows + i) - base);
      store<W>(st + j * kRows + i, p);
      sum += p;
    }
    store<W>(w.alpha + i, alpha);
    store<W>(w.l + i, load<W>(w.l + i) * alpha + sum);
    store<W>(w.m + i, mx);
  }
}

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
  const int nrows = int(std::min<int64_t>(p.task_rows, p.rows_per_kv - r0));
  const bool row_major = nrows <= kMaxRowsForRowMajorK;
  const int padded = int(round_up(nrows, row_major ? 4 : kQkVecs * W)), lanes = int(round_up(padded, W));
  const float scale = p.scale * kLog2e;  // scores in log2 units, for exp2
  w.masks.clear();
  const T* src[kRows];
  int64_t key_begin = p.Tk, key_end = 0, max_first = 0, min_last = p.Tk - 1;
  for (int i = 0; i < nrows; ++i) {
    const int64_t h = hk * p.group + (r0 + i) / p.Tq, t = (r0 + i) % p.Tq;
    src[i] = p.q + b * p.qs[0] + h * p.qs[1] + t * p.qs[2];
    w.masks.push_back(p.mask ? p.mask + b * p.ms[0] + h * p.ms[1] + t * p.ms[2] : nullptr);
    const int64_t last = p.causal ? t + p.Tk - p.Tq : p.Tk - 1;
    const int64_t first = p.window > 0 ? std::max<int64_t>(0, last - p.window + 1) : 0;
    w.first[i] = int32_t(first), w.last[i] = int32_t(std::clamp<int64_t>(last, -1, p.Tk));
    key_begin = std::min(key_begin, first), key_end = std::max(key_end, std::min(last + 1, p.Tk));
    max_first = std::max(max_first, first), min_last = std::min(min_last, last);
  }
  if (row_major) {
    std::fill_n(w.q, padded * w.dp, 0.f);
    for (int i = 0; i < nrows; ++i)
      for (int64_t d = 0; d < p.D; ++d) w.q[i * w.dp + d] = load_f32(src[i][d]) * scale;
  } else {
    pack_transposed(src, nrows, padded, p.D, scale, w.q);
  }
  std::fill(w.first.begin() + nrows, w.first.begin() + lanes, 0);
  std::fill(w.last.begin() + nrows, w.last.begin() + lanes, -1);
  std::fill_n(w.o, padded * w.dvp, 0.f);
  std::fill_n(w.m, lanes, kNegInf);
  std::fill_n(w.l, lanes, 0.f);
  // f32 keys and values are read in place (the last dim has a unit stride) where the kernels do not read their
  // zero padding.
  constexpr bool f32 = std::is_same_v<T, float>;
  const bool k_in_place = f32 && (!row_major || p.D == w.dp), v_in_place = f32 && p.Dv == w.dvp;
  // Key blocks past every row's causal limit, or before every row's window, are skipped.
  for (int64_t k0 = key_begin; k0 < key_end; k0 += kKeys) {
    const int nk = int(std::min<int64_t>(kKeys, p.Tk - k0));
    const T* ksrc = p.k + b * p.ks[0] + hk * p.ks[1] + k0 * p.ks[2];
    const T* vsrc = p.v + b * p.vs[0] + hk * p.vs[1] + k0 * p.vs[2];
    const float *kb = w.k, *vb = w.v;
    int64_t ldk = w.dp, ldv = w.dvp;
    if constexpr (f32) {
      if (k_in_place) kb = ksrc, ldk = p.ks[2];
      if (v_in_place) vb = vsrc, ldv = p.vs[2];
    }
    for (int j = 0; j < nk; ++j) {
      if (!k_in_place)
        for (int64_t d = 0; d < p.D; ++d) w.k[j * w.dp + d] = load_f32(ksrc[j * p.ks[2] + d]);
      if (!v_in_place)
        for (int64_t d = 0; d < p.Dv; ++d) w.v[j * w.dvp + d] = load_f32(vsrc[j * p.vs[2] + d]);
    }
    if (row_major)
      qk_rows<W>(w.q, w.dp, kb, ldk, w.st, padded, nk);
    else
      qk_transposed<W>(w.q, kb, ldk, p.D, w.st, w.smax, padded, w.last.data(), k0, nk);
    softmax_block<W>(w, lanes, p.kind, k0, nk, k0 < max_first || k0 + nk - 1 > min_last, !row_major);
    pv_block<W>(w.st, vb, ldv, w.dvp, w.alpha, w.o, padded, w.last.data(), k0, nk);
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
