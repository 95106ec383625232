// CPU optimizer kernels: flat loops over contiguous f32 parameters and states, with the branches that depend only
// on the hyperparameters (weight decay, lerp's branch, momentum) lifted out as template arguments so that each loop
// body is straight-line code the compiler vectorises. Where ATen's CPU kernels fuse a multiply-add (add with alpha,
// lerp, addcmul), so do these (std::fma), which is what makes them agree with torch to the last bit or so; the
// loops are cloned for x86-64 CPUs with FMA so that std::fma vectorises, with a portable clone beside them.
#include "runtime/ops/optim.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/cpu/reduce_rows.h"

#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define GLINT_FMA_CLONES __attribute__((target_clones("arch=haswell", "default")))
#endif
#endif
#ifndef GLINT_FMA_CLONES
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

// torch: param.mul_(decay); exp_avg.lerp_(g, w) = fma(w, g - m, m) below 0.5, fma(w - 1, g - m, g) above;
// exp_avg_sq.mul_(beta2).addcmul_(g, g, 1 - beta2) = fma((1 - beta2) * g, g, v * beta2);
// param.addcdiv_(exp_avg, denom, -step_size) = p + (-step_size * m) / denom.
template <class G, bool kDecay, bool kSmallWeight>
GLINT_FMA_CLONES void adamw_loop(float* p, const G* g, float* m, float* v, int64_t n, AdamWScalars s) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const float gi = to_float(g[i]) / s.grad_scale;
    float pi = p[i];
    if constexpr (kDecay) pi = pi * s.decay;
    const float diff = gi - m[i];
    const float mi = kSmallWeight ? std::fma(s.lerp_weight, diff, m[i]) : std::fma(s.lerp_weight - 1.f, diff, gi);
    const float vi = std::fma(s.one_minus_beta2 * gi, gi, v[i] * s.beta2);
    const float denom = std::sqrt(vi) / s.bias_correction2_sqrt + s.eps;
    p[i] = pi + s.neg_step_size * mi / denom;
    m[i] = mi;
    v[i] = vi;
  }
}

// torch: g = g.add(param, alpha=wd); buf = first ? g : buf.mul_(momentum).add_(g, alpha=1 - dampening);
// g = nesterov ? g.add(buf, alpha=momentum) : buf; param.add_(g, alpha=-lr). Each add with alpha is an fma.
template <class G, bool kDecay, bool kMomentum>
GLINT_FMA_CLONES void sgd_loop(float* p, const G* g, float* buf, int64_t n, SgdScalars s) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    float gi = to_float(g[i]) / s.grad_scale;
    if constexpr (kDecay) gi = std::fma(s.weight_decay, p[i], gi);
    if constexpr (kMomentum) {
      const float b = s.first ? gi : std::fma(s.one_minus_dampening, gi, buf[i] * s.momentum);
      buf[i] = b;
      gi = s.nesterov ? std::fma(s.momentum, b, gi) : b;
    }
    p[i] = std::fma(s.neg_lr, gi, p[i]);
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
