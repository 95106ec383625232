// Reduction definitions: argument checks, output shape and dtype, then the backend kernel.
#include "runtime/ops/reduce.h"

#include <algorithm>

#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/indexing.h"

namespace glint {
namespace {

DType out_dtype(ReduceOp op, DType in) {
  if (op == ReduceOp::argmax) return DType::i64;
  if (op == ReduceOp::sum && !is_floating(in)) return DType::i64;
  return in;
}

// The gradient of a reduction over dim d of x (0-d x is seen as (1)) for the output gradient g (x's shape
// without d): spread back over d by each op's rule.
void record_reduce(ReduceOp op, const Tensor& x_in, int d, int64_t correction, Tensor& out) {
  const Tensor x = (x_in.ndim() == 0 ? x_in.unsqueeze(0) : x_in).detach(), y = out.detach();
  autograd::record(reduce_op_name(op), out, {x_in}, [=, shape = x_in.shape()](const Tensor& g_in) {
    const Tensor g = g_in.unsqueeze(d);
    const double n = double(x.dim(d));
    Tensor gx;
    switch (op) {
      case ReduceOp::sum:
        gx = g.expand(x.shape());
        break;
      case ReduceOp::mean:
        gx = (g / n).expand(x.shape());
        break;
      case ReduceOp::var:
        gx = g * (x - mean(x, d, true)) * (2.0 / std::max(0.0, n - double(correction)));
        break;
      default: {  // max / min: all of it to the element the reduction picked (torch's indices rule)
        const Tensor at = argmax(op == ReduceOp::max ? x : neg(x), d, true);
        gx = scatter_add(zeros(x.shape(), g.dtype(), g.device()), d, at, g);
        break;
      }
    }
    return autograd::Grads{gx.reshape(shape)};
  });
}

Tensor reduce(const Tensor& x_in, int dim, bool keepdim, ReduceOp op, int64_t correction) {
  const char* name = reduce_op_name(op);
  GLINT_CHECK(x_in.defined(), name, "undefined tensor");
  GLINT_CHECK(is_floating(x_in.dtype()) || (op != ReduceOp::mean && op != ReduceOp::var), name,
              "needs a floating dtype, got ", dtype_name(x_in.dtype()));
  // A 0-d tensor reduces like a 1-element vector along dim 0 or -1 and stays 0-d, as in torch.
  const bool scalar = x_in.ndim() == 0;
  const Tensor x = scalar ? x_in.unsqueeze(0) : x_in;
  const int nd = x.ndim();
  const int d = dim < 0 ? dim + nd : dim;
  GLINT_CHECK(d >= 0 && d < nd, name, "dimension ", dim, " out of range for ", x_in.ndim(), "-d tensor");
  GLINT_CHECK(x.shape()[d] > 0 || op == ReduceOp::sum || op == ReduceOp::mean || op == ReduceOp::var, name,
              "cannot reduce an empty dimension");

  Shape out_shape = x.shape();
  out_shape.erase(out_shape.begin() + d);
  Tensor out = Tensor::empty(out_shape, out_dtype(op, x.dtype()), x.device());
  if (out.numel() > 0) reduce_kernel(x.device(), x.detach(), d, op, correction, out);
  if (op != ReduceOp::argmax && autograd::needs_grad({x_in})) record_reduce(op, x_in, d, correction, out);
  return keepdim && !scalar ? out.unsqueeze(d) : out;
}

}  // namespace

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
      return "sum";
    case ReduceOp::mean:
      return "mean";
    case ReduceOp::max:
      return "max";
    case ReduceOp::min:
      return "min";
    case ReduceOp::argmax:
      return "argmax";
    case ReduceOp::var:
      return "var";
  }
  return "reduce";
}

Tensor sum(const Tensor& x, int dim, bool keepdim) { return reduce(x, dim, keepdim, ReduceOp::sum, 0); }
Tensor mean(const Tensor& x, int dim, bool keepdim) { return reduce(x, dim, keepdim, ReduceOp::mean, 0); }
Tensor max(const Tensor& x, int dim, bool keepdim) { return reduce(x, dim, keepdim, ReduceOp::max, 0); }
Tensor min(const Tensor& x, int dim, bool keepdim) { return reduce(x, dim, keepdim, ReduceOp::min, 0); }
Tensor argmax(const Tensor& x, int dim, bool keepdim) { return reduce(x, dim, keepdim, ReduceOp::argmax, 0); }
Tensor var(const Tensor& x, int dim, int64_t correction, bool keepdim) {
  return reduce(x, dim, keepdim, ReduceOp::var, correction);
}

Tensor sum_all(const Tensor& x) {
  GLINT_CHECK(x.defined(), "sum_all", "undefined tensor");
  Tensor out = Tensor::empty({}, out_dtype(ReduceOp::sum, x.dtype()), x.device());
  sum_all_kernel(x.device(), x.detach(), out);
  if (autograd::needs_grad({x}))
    autograd::record("sum_all", out, {x}, [shape = x.shape()](const Tensor& g) { return autograd::Grads{g.expand(shape)}; });
  return out;
}

}  // namespace glint
