#include "runtime/ops/swiglu.h"

#include "runtime/autograd/autocast.h"
#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"

namespace glint {

Tensor swiglu(const Tensor& gate, const Tensor& up) {
  GLINT_CHECK(gate.defined() && up.defined(), "swiglu", "gate and up must be defined");
  const bool fused = swiglu_kernel.supports(gate.device().kind) && !autograd::autocast_dtype() &&
                     gate.dtype() == DType::f32 && up.dtype() == DType::f32 && gate.shape() == up.shape() &&
                     gate.device() == up.device() && gate.numel() > 0;
  if (!fused) return silu(gate) * up;  // other dtypes keep the roundings between the two ops
  const Tensor a = gate.contiguous(), b = up.contiguous();
  Tensor out = Tensor::empty(a.shape(), DType::f32, a.device());
  swiglu_kernel(a.device(), a.detach(), b.detach(), out);
  if (autograd::needs_grad({gate, up})) {
    autograd::record("swiglu", out, {gate, up}, [a = a.detach(), b = b.detach()](const Tensor& g) {
      const Tensor gc = g.to(DType::f32).contiguous();
      const Tensor d_gate = Tensor::empty(a.shape(), DType::f32, a.device());
      const Tensor d_up = Tensor::empty(a.shape(), DType::f32, a.device());
      swiglu_grad_kernel(a.device(), a, b, gc, d_gate, d_up);
      return autograd::Grads{d_gate, d_up};
    });
  }
  return out;
}

}  // namespace glint
