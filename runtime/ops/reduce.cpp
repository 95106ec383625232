// Reduction definitions: argument checks, output shape and dtype, then the backend kernel.
#include "runtime/ops/reduce.h"

#include "runtime/core/error.h"

namespace glint {
namespace {

DType out_dtype(ReduceOp op, DType in) {
  if (op == ReduceOp::argmax) return DType::i64;
  if (op == ReduceOp::sum && !is_floating(in)) return DType::i64;
  return in;
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
  if (out.numel() > 0) reduce_kernel(x.device(), x, d, op, correction, out);
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
  sum_all_kernel(x.device(), x, out);
  return out;
}

}  // namespace glint
