// Softmax definitions: argument checks and the output, then the backend kernel.
#include "runtime/ops/softmax.h"

#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/reduce.h"
#include "runtime/ops/elementwise.h"

namespace glint {
namespace {

Tensor softmax_impl(const Tensor& x, int dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  GLINT_CHECK(x.defined(), name, "undefined tensor");
  GLINT_CHECK(is_floating(x.dtype()), name, "needs a floating dtype, got ", dtype_name(x.dtype()));
  // A 0-d tensor is a row of one element, as in torch.
  const Tensor x1 = x.ndim() == 0 ? x.unsqueeze(0) : x;
  const int d = dim < 0 ? dim + x1.ndim() : dim;
  GLINT_CHECK(d >= 0 && d < x1.ndim(), name, "dimension ", dim, " out of range for ", x.ndim(), "-d tensor");
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() > 0)
    softmax_kernel(x.device(), x1.detach(), d, log, out.ndim() == 0 ? out.unsqueeze(0) : out);
  if (autograd::needs_grad({x})) {
    // softmax: y (g - sum(g y)); log_softmax: g - exp(y) sum(g), along the row. 0-d: the row is one element.
    const Tensor y = out.detach();
    const int rd = x.ndim() == 0 ? -1 : d;
    autograd::record(name, out, {x}, [y, rd, log](const Tensor& g) {
      if (y.ndim() == 0) return autograd::Grads{g * 0.0};  // a constant: 1, or 0 for log
      if (log) return autograd::Grads{g - exp(y) * sum(g, rd, true)};
      return autograd::Grads{y * (g - sum(g * y, rd, true))};
    });
  }
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, int dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int dim) { return softmax_impl(x, dim, true); }

}  // namespace glint
