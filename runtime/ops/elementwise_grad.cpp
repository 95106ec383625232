#include "runtime/ops/elementwise_grad.h"

#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"

namespace glint {
namespace {

using autograd::Grads;
using autograd::sum_to;

// torch's rule for maximum / minimum: the gradient goes to the chosen input, split in half on ties.
Tensor pick_weight(BinaryOp op, const Tensor& a, const Tensor& b) {
  const Tensor win = op == BinaryOp::maximum ? gt(a, b) : lt(a, b);
  const Tensor one = full({}, 1.0, a.dtype(), a.device()), half = full({}, 0.5, a.dtype(), a.device()),
               zero = zeros({}, a.dtype(), a.device());
  return where(win, one, where(eq(a, b), half, zero));
}

}  // namespace

Tensor unary_backward(UnaryOp op, const Tensor& x, const Tensor& g, const ClampBounds& bounds) {
  GLINT_CHECK(x.shape() == g.shape() && x.dtype() == g.dtype() && x.device() == g.device(), op_name(op),
              "backward: x ", x.str(), " and gradient ", g.str(), " differ");
  GLINT_CHECK(is_floating(x.dtype()), op_name(op), "backward needs a floating dtype, not ", dtype_name(x.dtype()));
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel()) unary_grad_kernel(x.device(), op, x.contiguous(), g.contiguous(), bounds, out);
  return out;
}

void record_binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  if (is_comparison(op)) return;  // u8 results take no gradient
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  // Keep only the tensors this op's gradient reads: every one kept lives until backward (add, the residual stream
  // and a LoRA branch's sum, reads none of them).
  const bool keep_x =
      (op == BinaryOp::mul && need_b) || op == BinaryOp::pow || op == BinaryOp::maximum || op == BinaryOp::minimum;
  const bool keep_y = (op == BinaryOp::mul && need_a) || op == BinaryOp::div || op == BinaryOp::pow ||
                      op == BinaryOp::maximum || op == BinaryOp::minimum;
  const bool keep_z = (op == BinaryOp::div && need_b) || (op == BinaryOp::pow && need_b);
  const Tensor x = keep_x ? a.detach() : Tensor(), y = keep_y ? b.detach() : Tensor(),
               z = keep_z ? out.detach() : Tensor();
  const Shape a_shape = a.shape(), b_shape = b.shape();
  autograd::record(op_name(op).data(), out, {a, b}, [=](const Tensor& g) {
    Tensor ga, gb;
    switch (op) {
      case BinaryOp::add:
        ga = g, gb = g;
        break;
      case BinaryOp::sub:
        ga = g;
        if (need_b) gb = neg(g);
        break;
      case BinaryOp::mul:
        if (need_a) ga = g * y;
        if (need_b) gb = g * x;
        break;
      case BinaryOp::div:
        ga = g / y;
        if (need_b) gb = neg(ga * z);  // -g a / b^2 = -(g / b) * out
        break;
      case BinaryOp::pow:
        if (need_a) ga = g * y * pow(x, y - 1.0);
        if (need_b) gb = g * z * log(x);
        break;
      case BinaryOp::maximum:
      case BinaryOp::minimum: {
        const Tensor w = pick_weight(op, x, y);
        if (need_a) ga = g * w;
        if (need_b) gb = g * (neg(w) + 1.0);
        break;
      }
      default:
        break;
    }
    return Grads{need_a && ga.defined() ? sum_to(ga, a_shape) : Tensor(),
                 need_b && gb.defined() ? sum_to(gb, b_shape) : Tensor()};
  });
}

void record_binary_scalar(BinaryOp op, const Tensor& a, double b, Tensor& out) {
  if (is_comparison(op)) return;
  // Only pow, maximum and minimum read the input back; keeping it for the others (a LoRA branch's `* scale`) would
  // hold a whole activation until backward.
  const bool reads_input = op == BinaryOp::pow || op == BinaryOp::maximum || op == BinaryOp::minimum;
  const Tensor x = reads_input ? a.detach() : Tensor();
  autograd::record(op_name(op).data(), out, {a}, [=](const Tensor& g) {
    switch (op) {
      case BinaryOp::add:
      case BinaryOp::sub:
        return Grads{g};
      case BinaryOp::mul:
        return Grads{g * b};
      case BinaryOp::div:
        return Grads{g / b};
      case BinaryOp::pow:
        return Grads{g * (pow(x, b - 1.0) * b)};
      case BinaryOp::maximum:
      case BinaryOp::minimum:
        return Grads{g * pick_weight(op, x, full({}, b, x.dtype(), x.device()))};
      default:
        fail(op_name(op), "has no gradient");
    }
  });
}

void record_unary(UnaryOp op, const Tensor& x, const ClampBounds& bounds, Tensor& out) {
  const Tensor saved = x.detach();
  autograd::record(op_name(op).data(), out, {x},
                   [=](const Tensor& g) { return Grads{unary_backward(op, saved, g, bounds)}; });
}

void record_where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  const Tensor c = cond.detach();
  const Shape sa = a.shape(), sb = b.shape();
  autograd::record("where", out, {cond, a, b}, [=](const Tensor& g) {
    const Tensor zero = zeros({}, g.dtype(), g.device());
    return Grads{Tensor(), need_a ? sum_to(where(c, g, zero), sa) : Tensor(),
                 need_b ? sum_to(where(c, zero, g), sb) : Tensor()};
  });
}

}  // namespace glint
