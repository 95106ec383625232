// CPU SwiGLU: one OpenMP loop per direction, with the exact arithmetic of the unary silu kernel, its derivative and
// the binary mul (runtime/cpu/elementwise.cpp, elementwise_grad.cpp) on f32, so the fused op changes no bit.
#include <cmath>

#include "runtime/cpu/elem.h"
#include "runtime/cpu/simd_clones.h"
#include "runtime/cpu/vec_math.h"
#include "runtime/ops/swiglu.h"

namespace glint::cpu {
namespace {

GLINT_SIMD_CLONES void swiglu_cpu(const Tensor& gate, const Tensor& up, const Tensor& out) {
  const float *x = ptr<float>(gate), *u = ptr<float>(up);
  float* o = ptr<float>(out);
  const int64_t n = out.numel();
#pragma omp parallel for schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) o[i] = x[i] / (1.0f + exp_f32(-x[i])) * u[i];
}

GLINT_SIMD_CLONES void swiglu_grad_cpu(const Tensor& gate, const Tensor& up, const Tensor& g, const Tensor& d_gate,
                                       const Tensor& d_up) {
  const float *x = ptr<float>(gate), *u = ptr<float>(up), *pg = ptr<float>(g);
  float *dx = ptr<float>(d_gate), *du = ptr<float>(d_up);
  const int64_t n = g.numel();
#pragma omp parallel for schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) {
    const float e = 1.0f + exp_f32(-x[i]), s = 1.0f / e;
    du[i] = pg[i] * (x[i] / e);
    dx[i] = pg[i] * u[i] * (s * (1.0f + x[i] * (1.0f - s)));
  }
}

const OpRegistration reg(swiglu_kernel, DeviceKind::cpu, swiglu_cpu);
const OpRegistration reg_grad(swiglu_grad_kernel, DeviceKind::cpu, swiglu_grad_cpu);

}  // namespace
}  // namespace glint::cpu
