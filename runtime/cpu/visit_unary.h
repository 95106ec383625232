// visit_unary: runs a body templated on the unary op once per op, so CPU loops have no per-element switch (as
// visit_dtype does for element types).
#pragma once

#include "runtime/ops/elementwise.h"

namespace glint::cpu {

// Calls f.template operator()<OP>() with OP the runtime op.
template <class F>
void visit_unary(UnaryOp op, F&& f) {
  switch (op) {
    case UnaryOp::neg: return f.template operator()<UnaryOp::neg>();
    case UnaryOp::abs: return f.template operator()<UnaryOp::abs>();
    case UnaryOp::exp: return f.template operator()<UnaryOp::exp>();
    case UnaryOp::log: return f.template operator()<UnaryOp::log>();
    case UnaryOp::sqrt: return f.template operator()<UnaryOp::sqrt>();
    case UnaryOp::rsqrt: return f.template operator()<UnaryOp::rsqrt>();
    case UnaryOp::tanh: return f.template operator()<UnaryOp::tanh>();
    case UnaryOp::sigmoid: return f.template operator()<UnaryOp::sigmoid>();
    case UnaryOp::silu: return f.template operator()<UnaryOp::silu>();
    case UnaryOp::gelu: return f.template operator()<UnaryOp::gelu>();
    case UnaryOp::gelu_tanh: return f.template operator()<UnaryOp::gelu_tanh>();
    case UnaryOp::relu: return f.template operator()<UnaryOp::relu>();
    case UnaryOp::clamp: return f.template operator()<UnaryOp::clamp>();
  }
}

}  // namespace glint::cpu
