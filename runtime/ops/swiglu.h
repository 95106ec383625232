// SwiGLU, silu(gate) * up: the activation of the Llama-family MLPs, fused where a backend has a kernel (one pass
// forward, one pass backward, no silu(gate) tensor kept), else the two ops it is made of.
#pragma once
#include "runtime/core/tensor.h"
#include "runtime/ops/registry.h"

namespace glint {

// silu(gate) * up with the values and gradients of those two ops; gate and up share shape, dtype and device.
Tensor swiglu(const Tensor& gate, const Tensor& up);

// out = silu(gate) * up; gate, up and out f32, contiguous, of one shape.
inline OpTable<void(const Tensor& gate, const Tensor& up, const Tensor& out)> swiglu_kernel("swiglu");
// d_gate = (g * up) * silu'(gate), d_up = g * silu(gate): the rules of mul and silu, on f32 contiguous tensors of
// one shape.
inline OpTable<void(const Tensor& gate, const Tensor& up, const Tensor& g, const Tensor& d_gate, const Tensor& d_up)>
    swiglu_grad_kernel("swiglu backward");

}  // namespace glint
