// Gradient rules of the elementwise ops (runtime/ops/elementwise.h), recorded by the ops when an input requires
// grad. Unary derivatives run as one fused kernel per backend (g * f'(x)); the rest are built from elementwise ops.
#pragma once
#include "runtime/ops/elementwise.h"

namespace glint {

// g * op'(x) for every floating unary op (clamp passes g where lo <= x <= hi); x and g share shape and dtype.
Tensor unary_backward(UnaryOp op, const Tensor& x, const Tensor& g, const ClampBounds& bounds);

// Record the rule of each op family on `out` (inputs as the op received them).
void record_binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);
void record_binary_scalar(BinaryOp op, const Tensor& a, double b, Tensor& out);
void record_unary(UnaryOp op, const Tensor& x, const ClampBounds& bounds, Tensor& out);
void record_where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out);

// out = g * op'(x); x, g and out contiguous of one floating dtype and shape.
inline OpTable<void(UnaryOp op, const Tensor& x, const Tensor& g, const ClampBounds& bounds, const Tensor& out)>
    unary_grad_kernel("unary_grad");

}  // namespace glint
