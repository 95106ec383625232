// CPU kernel of the unary ops' backward: g * f'(x) in f32, with the derivatives torch's autograd uses
// (tools/autograd/derivatives.yaml), one OpenMP loop over contiguous tensors, instantiated per op (no switch per
// element) and SIMD-cloned so that the GELU / SiLU derivatives vectorise.
#include <cmath>
#include <numbers>

#include "runtime/cpu/elem.h"
#include "runtime/cpu/simd_clones.h"
#include "runtime/cpu/vec_math.h"
#include "runtime/cpu/visit_unary.h"
#include "runtime/ops/elementwise_grad.h"

namespace glint::cpu {
namespace {

template <UnaryOp OP>
inline float derivative(float x, const ClampBounds& b) {
  switch (OP) {
    case UnaryOp::neg: return -1.0f;
    case UnaryOp::abs: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
    case UnaryOp::exp: return exp_f32(x);
    case UnaryOp::log: return 1.0f / x;
    case UnaryOp::sqrt: return 0.5f / std::sqrt(x);
    case UnaryOp::rsqrt: return -0.5f / (x * std::sqrt(x));
    case UnaryOp::tanh: {
      const float t = std::tanh(x);
      return 1.0f - t * t;
    }
    case UnaryOp::sigmoid: {
      const float s = sigmoid_f32(x);
      return s * (1.0f - s);
    }
    case UnaryOp::silu: {
      const float s = sigmoid_f32(x);
      return s * (1.0f + x * (1.0f - s));
    }
    case UnaryOp::gelu: {
      const float cdf = 0.5f * (1.0f + erf_f32(x * float(std::numbers::sqrt2 / 2)));
      const float pdf = exp_f32(-0.5f * x * x) * float(std::numbers::inv_sqrtpi / std::numbers::sqrt2);
      return cdf + x * pdf;
    }
    case UnaryOp::gelu_tanh: {
      constexpr float kBeta = float(std::numbers::sqrt2 * std::numbers::inv_sqrtpi), kKappa = 0.044715f;
      const float t = std::tanh(kBeta * (x + kKappa * x * x * x));
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kBeta * (1.0f + 3.0f * kKappa * x * x);
    }
    case UnaryOp::relu: return x > 0.0f ? 1.0f : 0.0f;
    case UnaryOp::clamp: return x >= b.lo_f && x <= b.hi_f ? 1.0f : 0.0f;
  }
  return 0.0f;
}

template <UnaryOp OP, class T>
GLINT_SIMD_CLONES void unary_grad_loop(const T* px, const T* pg, T* po, int64_t n, const ClampBounds& bounds) {
#pragma omp parallel for schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) po[i] = from_float<T>(to_float(pg[i]) * derivative<OP>(to_float(px[i]), bounds));
}

void unary_grad_cpu(UnaryOp op, const Tensor& x, const Tensor& g, const ClampBounds& bounds, const Tensor& out) {
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>)
      visit_unary(op, [&]<UnaryOp OP>() {
        unary_grad_loop<OP>(ptr<T>(x), ptr<T>(g), ptr<T>(out), out.numel(), bounds);
      });
  });
}

const OpRegistration reg(unary_grad_kernel, DeviceKind::cpu, unary_grad_cpu);

}  // namespace
}  // namespace glint::cpu
