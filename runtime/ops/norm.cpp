// Norm definitions: argument checks, the output, then the backend kernel. Weights and biases are tiny, so they
// are made contiguous here and kernels index them directly.
#include "runtime/ops/norm.h"

#include "runtime/core/error.h"

namespace glint {
namespace {

void check_input(const Tensor& x, const char* name, int min_dims) {
  GLINT_CHECK(x.defined(), name, "undefined tensor");
  GLINT_CHECK(is_floating(x.dtype()), name, "needs a floating dtype, got ", dtype_name(x.dtype()));
  GLINT_CHECK(x.ndim() >= min_dims, name, "input needs at least ", min_dims, " dims, got ", shape_str(x.shape()));
}

// An affine parameter: undefined, or of `shape` on x's device and dtype. Returns it contiguous.
Tensor check_param(const Tensor& x, const Tensor& p, const char* name, const char* what, int64_t size) {
  if (!p.defined()) return p;
  GLINT_CHECK(p.device() == x.device(), name, "tensors on different devices: ", x.device().str(), " and ",
              p.device().str());
  GLINT_CHECK(p.dtype() == x.dtype(), name, "dtype mismatch: ", dtype_name(x.dtype()), " and ", dtype_name(p.dtype()));
  GLINT_CHECK(p.shape() == Shape{size}, name, what, " has shape ", shape_str(p.shape()), ", expected (", size, ")");
  return p.contiguous();
}

}  // namespace

Tensor rms_norm(const Tensor& x, const Tensor& weight, float eps) {
  check_input(x, "rms_norm", 1);
  Tensor w = check_param(x, weight, "rms_norm", "weight", x.dim(-1));
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() > 0) rms_norm_kernel(x.device(), x, w, eps, out);
  return out;
}

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  check_input(x, "layer_norm", 1);
  Tensor w = check_param(x, weight, "layer_norm", "weight", x.dim(-1));
  Tensor b = check_param(x, bias, "layer_norm", "bias", x.dim(-1));
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() > 0) layer_norm_kernel(x.device(), x, w, b, eps, out);
  return out;
}

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, float eps, bool silu) {
  check_input(x, "group_norm", 2);
  const int64_t channels = x.dim(1);
  GLINT_CHECK(num_groups > 0 && channels % num_groups == 0, "group_norm", channels, " channels are not divisible by ",
              num_groups, " groups");
  Tensor w = check_param(x, weight, "group_norm", "weight", channels);
  Tensor b = check_param(x, bias, "group_norm", "bias", channels);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() > 0) group_norm_kernel(x.device(), x.contiguous(), num_groups, w, b, eps, silu, out);
  return out;
}

}  // namespace glint
