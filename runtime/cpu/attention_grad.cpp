// CPU attention backward, fused: one task per (batch, query head), walking blocks of kRows query rows. Each block
// recomputes its scores S = q k^T * scale (+ mask) with sgemm over only the keys some row of the block may see
// (causal and sliding-window limits), turns them into probabilities P in place, and runs the four products of the
// gradient on that block: dv += P^T dO, dP = dO v^T, dS = P (dP - rowsum(dO O)) * scale, dq = dS k, dk += dS^T q.
// Scores never exceed kRows x Tk floats per thread, nothing of size (B, H, Tq, Tk) is written, and the masked
// upper-right part of a causal score matrix is not computed. The arithmetic is the composite's
// (attention_grad_composite), in another summation order.
//
// Tasks run in parallel with OpenMP; sgemm runs on the calling thread inside the parallel region.

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "runtime/cpu/gemm.h"
#include "runtime/cpu/reduce_rows.h"
#include "runtime/ops/attention_grad.h"
#include "runtime/cpu/simd_clones.h"

namespace glint::cpu {
namespace {

constexpr int64_t kRows = 64;  // query rows per block
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// One (Rows, Cols) f32 matrix in memory: element (r, c) at p[r * ld + c].
struct Mat {
  const float* p;
  int64_t ld;
};

// c (m, n, ldc) = op(a) op(b) + beta c, row-major, op = transpose where asked.
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, Mat a, Mat b, float beta, float* c, int64_t ldc) {
  sgemm(ta, tb, m, n, k, 1.f, a.p, a.ld, b.p, b.ld, beta, c, ldc);
}

// Row r of the probabilities of one block, in place over its n scores s (keys k0 .. k0 + n): scaled, masked as the
// composite's additive mask does (-inf outside the causal / window limits, the mask added or applied), then a
// softmax; a row with every key masked (or a NaN) gives zeros where the composite's softmax gives NaN.
GLINT_SIMD_CLONES void probabilities(const AttentionArgs& a, const float* mask_row, int64_t t, int64_t tq, int64_t tk,
                                     int64_t k0, int64_t n, float* s) {
  const int64_t at = t + (tk - tq);  // this query's diagonal key
  for (int64_t j = 0; j < n; ++j) {
    const int64_t key = k0 + j;
    float x = s[j] * a.scale;
    if (a.causal && (key > at || (a.window > 0 && key <= at - a.window))) x = kNegInf;
    if (a.mask_kind == AttentionMask::additive) x += mask_row[key];
    if (a.mask_kind == AttentionMask::keep && mask_row[key] == 0.f) x = kNegInf;
    s[j] = x;
  }
  softmax_row(s, n, false);
  for (int64_t j = 0; j < n; ++j) s[j] = s[j] != s[j] ? 0.f : s[j];
}

GLINT_SIMD_CLONES void attention_grad_cpu(const AttentionGradArgs& g) {
  const AttentionArgs& a = g.fwd;
  const int64_t B = a.q.dim(0), Hq = a.q.dim(1), Tq = a.q.dim(2), D = a.q.dim(3);
  const int64_t Hkv = a.k.dim(1), Tk = a.k.dim(2), Dv = a.v.dim(3), group = Hq / Hkv;
  const Shape &qs = a.q.strides(), &ks = a.k.strides(), &vs = a.v.strides();
  const Shape ms = a.mask.defined() ? a.mask.strides() : Shape(4, 0);
  const float *q = ptr<float>(a.q), *k = ptr<float>(a.k), *v = ptr<float>(a.v), *o = ptr<float>(a.out);
  const float *go = ptr<float>(g.g), *mask = a.mask.defined() ? ptr<float>(a.mask) : nullptr;
  float *dq = ptr<float>(g.dq), *dk = ptr<float>(g.dk), *dv = ptr<float>(g.dv);
#pragma omp parallel
  {
    std::vector<float> p(size_t(kRows * Tk)), dp(size_t(kRows * Tk)), delta(kRows);
#pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < B * Hq; ++task) {
      const int64_t b = task / Hq, h = task % Hq, hk = h / group;
      const Mat qh{q + b * qs[0] + h * qs[1], qs[2]}, kh{k + b * ks[0] + hk * ks[1], ks[2]},
          vh{v + b * vs[0] + hk * vs[1], vs[2]};
      const float *oh = o + task * Tq * Dv, *gh = go + task * Tq * Dv;
      float *dqh = dq + task * Tq * D, *dkh = dk + task * Tk * D, *dvh = dv + task * Tk * Dv;
      std::fill_n(dkh, Tk * D, 0.f);
      std::fill_n(dvh, Tk * Dv, 0.f);
      for (int64_t r0 = 0; r0 < Tq; r0 += kRows) {
        const int64_t rows = std::min(kRows, Tq - r0);
        // The keys any row of the block may see: up to the last row's diagonal, from the first row's window start.
        const int64_t k1 = a.causal ? std::clamp<int64_t>(r0 + rows + (Tk - Tq), 0, Tk) : Tk;
        const int64_t k0 = a.window > 0 ? std::clamp<int64_t>(r0 + (Tk - Tq) - a.window + 1, 0, k1) : 0;
        const int64_t n = k1 - k0;
        float* dqb = dqh + r0 * D;
        if (n == 0) {  // every key masked for the whole block: no gradient flows
          std::fill_n(dqb, rows * D, 0.f);
          continue;
        }
        const Mat qb{qh.p + r0 * qh.ld, qh.ld}, gb{gh + r0 * Dv, Dv}, kb{kh.p + k0 * kh.ld, kh.ld},
            vb{vh.p + k0 * vh.ld, vh.ld};
        gemm(false, true, rows, n, D, qb, kb, 0.f, p.data(), n);
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t t = r0 + r;
          const float* mrow = mask ? mask + b * ms[0] + h * ms[1] + t * ms[2] : nullptr;
          probabilities(a, mrow, t, Tq, Tk, k0, n, p.data() + r * n);
          const float *orow = oh + t * Dv, *grow = gb.p + r * Dv;
          delta[size_t(r)] = pairwise_sum(0, Dv, [&](int64_t d) { return grow[d] * orow[d]; });
        }
        gemm(true, false, n, Dv, rows, {p.data(), n}, gb, 1.f, dvh + k0 * Dv, Dv);
        gemm(false, true, rows, n, Dv, gb, vb, 0.f, dp.data(), n);
        for (int64_t r = 0; r < rows; ++r) {
          float *pr = p.data() + r * n, *dpr = dp.data() + r * n;
          for (int64_t j = 0; j < n; ++j) dpr[j] = pr[j] * (dpr[j] - delta[size_t(r)]) * a.scale;
        }
        gemm(false, false, rows, D, n, {dp.data(), n}, kb, 0.f, dqb, D);
        gemm(true, false, n, D, rows, {dp.data(), n}, qb, 1.f, dkh + k0 * D, D);
      }
    }
  }
}

const OpRegistration reg(attention_grad_kernel, DeviceKind::cpu, attention_grad_cpu);

}  // namespace
}  // namespace glint::cpu
