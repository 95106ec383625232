// CPU optimizer kernels: flat loops over contiguous f32 parameters and states, with the branches that depend only
// on the hyperparameters (weight decay, lerp's branch, momentum) lifted out as template arguments so that each loop
// body is straight-line code the compiler vectorises. Where ATen's CPU kernels fuse a multiply-add (add with alpha,
// lerp, addcmul), so do these (std::fma), which is what makes them agree with torch to the last bit or so; the
// loops are cloned for x86-64 CPUs with AVX-512 and with FMA so that std::fma vectorises, with a portable clone
// beside them (AVX-512 made the update about 7 % faster than the AVX2 clone; it is bound by memory).
#include "runtime/ops/optim.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/cpu/reduce_rows.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GLINT_FMA_CLONES __attribute__((target_clones("arch=x86-64-v4", "fma", "default")))
#else
#define GLINT_FMA_CLONES
#endif

namespace glint::cpu {
namespace {

constexpr int64_t kParallelMin = 1 << 15;  // below this, threads cost more than they save

// Calls f.template operator()<A, B>() with A and B the compile-time values of a and b.
template <class F>
void with_flags(bool a, bool b, F&& f) {
  if (a && b) return f.template operator()<true, true>();
  if (a) return f.template operator()<true, false>();
  if (b) return f.template operator()<false, true>();
  return f.template operator()<false, false>();
}

// Gradient element as f32 divided by the loss scale (by the exact inverse when there is one: see grad_inverse).
// The condition is loop-invariant, so the compiler unswitches it.
template <class G>
inline float unscaled(G g, float scale, float inv) {
  return inv != 0.f ? to_float(g) * inv : to_float(g) / scale;
}

// torch: param.mul_(decay); exp_avg.lerp_(g, w) = fma(w, g - m, m) below 0.5, fma(w - 1, g - m, g) above;
// exp_avg_sq.mul_(beta2).addcmul_(g, g, 1 - beta2) = fma((1 - beta2) * g, g, v * beta2);
// param.addcdiv_(exp_avg, denom, -step_size) = p + (-step_size * m) / denom.
// Blocks of kBlock elements go through three loops: the moments (vectorised), the square roots (scalar: std::sqrt
// may set errno and the build does not pass -fno-math-errno, which keeps GCC from vectorising any loop holding
// it), then the parameter update (vectorised, with its two divisions). Same operations in the same order per
// element as one loop.
template <class G, bool kDecay, bool kSmallWeight>
GLINT_FMA_CLONES void adamw_loop(float* __restrict p, const G* __restrict g, float* __restrict m, float* __restrict v,
                                 int64_t n, const AdamWScalars s) {
  constexpr int64_t kBlock = 512;
  // Locals, not members of s: the loops then keep them in registers.
  const float scale = s.grad_scale, inv = s.inv_grad_scale, decay = s.decay;
  const float w = kSmallWeight ? s.lerp_weight : s.lerp_weight - 1.f, beta2 = s.beta2;
  const float one_minus_beta2 = s.one_minus_beta2, bc2 = s.bias_correction2_sqrt, eps = s.eps;
  const float neg_step = s.neg_step_size;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t begin = b * kBlock, len = std::min(kBlock, n - begin);
    float* __restrict pb = p + begin;
    float* __restrict mb = m + begin;
    float* __restrict vb = v + begin;
    const G* __restrict gb = g + begin;
    float root[kBlock];
    for (int64_t i = 0; i < len; ++i) {
      const float gi = unscaled(gb[i], scale, inv);
      const float mi = std::fma(w, gi - mb[i], kSmallWeight ? mb[i] : gi);
      const float vi = std::fma(one_minus_beta2 * gi, gi, vb[i] * beta2);
      mb[i] = mi;
      vb[i] = vi;
      root[i] = vi;
    }
    for (int64_t i = 0; i < len; ++i) root[i] = std::sqrt(root[i]);
    for (int64_t i = 0; i < len; ++i) {
      float pi = pb[i];
      if constexpr (kDecay) pi = pi * decay;
      pb[i] = pi + neg_step * mb[i] / (root[i] / bc2 + eps);
    }
  }
}

// torch: g = g.add(param, alpha=wd); buf = first ? g : buf.mul_(momentum).add_(g, alpha=1 - dampening);
// g = nesterov ? g.add(buf, alpha=momentum) : buf; param.add_(g, alpha=-lr). Each add with alpha is an fma.
template <class G, bool kDecay, bool kMomentum>
GLINT_FMA_CLONES void sgd_loop(float* __restrict p, const G* __restrict g, float* __restrict buf, int64_t n,
                               const SgdScalars s) {
  const float scale = s.grad_scale, inv = s.inv_grad_scale, wd = s.weight_decay, momentum = s.momentum,
              damp = s.one_minus_dampening;
  const float neg_lr = s.neg_lr;
  const bool first = s.first, nesterov = s.nesterov;
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    float gi = unscaled(g[i], scale, inv);
    if constexpr (kDecay) gi = std::fma(wd, p[i], gi);
    if constexpr (kMomentum) {
      const float b = first ? gi : std::fma(damp, gi, buf[i] * momentum);
      buf[i] = b;
      gi = nesterov ? std::fma(momentum, b, gi) : b;
    }
    p[i] = std::fma(neg_lr, gi, p[i]);
  }
}

void adamw_cpu(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const AdamWScalars& s) {
  visit_dtype(grad.dtype(), [&]<class G>() {
    if constexpr (is_float_elem<G>)
      with_flags(s.has_decay, s.lerp_weight < 0.5f, [&]<bool kDecay, bool kSmall>() {
        adamw_loop<G, kDecay, kSmall>(param.data<float>(), ptr<G>(grad), exp_avg.data<float>(),
                                      exp_avg_sq.data<float>(), param.numel(), s);
      });
  });
}

void sgd_cpu(const Tensor& param, const Tensor& grad, const Tensor& momentum_buf, const SgdScalars& s) {
  float* buf = s.has_momentum ? momentum_buf.data<float>() : nullptr;
  visit_dtype(grad.dtype(), [&]<class G>() {
    if constexpr (is_float_elem<G>)
      with_flags(s.has_decay, s.has_momentum, [&]<bool kDecay, bool kMomentum>() {
        sgd_loop<G, kDecay, kMomentum>(param.data<float>(), ptr<G>(grad), buf, param.numel(), s);
      });
  });
}

void nonfinite_cpu(const Tensor& x, const Tensor& found_inf, float inv_scale) {
  const int64_t n = x.numel();
  int bad = 0;
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) {
      T* p = ptr<T>(x);
      if (inv_scale == 1.f) {
#pragma omp parallel for simd reduction(| : bad) schedule(static) if (n > kParallelMin)
        for (int64_t i = 0; i < n; ++i) bad |= !std::isfinite(to_float(p[i]));
        return;
      }
#pragma omp parallel for simd reduction(| : bad) schedule(static) if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) {
        const float v = to_float(p[i]);
        bad |= !std::isfinite(v);
        p[i] = from_float<T>(v * inv_scale);
      }
    }
  });
  if (bad) *found_inf.data<float>() = 1.f;
}

// Chunks reduced in parallel by pairwise summation, then the chunk sums pairwise: the same error behaviour as
// sum_all. A view is read through a contiguous copy.
void sum_squares_cpu(const Tensor& x_in, const Tensor& out) {
  const Tensor x = x_in.contiguous();
  const int64_t n = x.numel();
  constexpr int64_t kChunk = 1 << 16;
  const int64_t chunks = std::max<int64_t>(1, (n + kChunk - 1) / kChunk);
  std::vector<float> partial(size_t(chunks), 0.f);
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) {
      const T* p = ptr<T>(x);
#pragma omp parallel for schedule(static) if (n > kParallelMin)
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t begin = c * kChunk, count = std::min(n, begin + kChunk) - begin;
        partial[c] = pairwise_sum(begin, count, [&](int64_t i) {
          const float v = to_float(p[i]);
          return v * v;
        });
      }
    }
  });
  *out.data<float>() = pairwise_sum(0, chunks, [&](int64_t c) { return partial[c]; });
}

const OpRegistration reg_adamw(adamw_kernel, DeviceKind::cpu, adamw_cpu);
const OpRegistration reg_sgd(sgd_kernel, DeviceKind::cpu, sgd_cpu);
const OpRegistration reg_nonfinite(nonfinite_kernel, DeviceKind::cpu, nonfinite_cpu);
const OpRegistration reg_sum_squares(sum_squares_kernel, DeviceKind::cpu, sum_squares_cpu);

}  // namespace
}  // namespace glint::cpu
