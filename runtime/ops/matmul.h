// Matrix multiplication: torch.matmul semantics (vectors promoted and squeezed, batch dims broadcast) and
// nn.Linear. Inputs share one float dtype; the output has it too; products always accumulate in f32.
#pragma once
#include "runtime/core/tensor.h"
#include "runtime/ops/registry.h"

namespace glint {

// torch.matmul: 1-D @ 1-D is a dot product (0-d result); a 1-D left (right) operand is a row (column) vector
// whose dim is dropped from the result; otherwise (..., M, K) @ (..., K, N) with broadcast batch dims.
Tensor matmul(const Tensor& a, const Tensor& b);
// nn.Linear: x (..., in) @ weight (out, in)^T + bias (out), bias optional.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

// c = a @ b (+ bias on every row). a (batch..., M, K), b (batch..., K, N) and c (batch..., M, N) share the batch
// shape (broadcast dims have stride 0); M, N, K and the batch are non-empty. Each matrix of a and b has stride 1
// on one of its last two dims and a stride >= that dim's extent on the other (row- or column-major, with size-1
// dims given those strides), so kernels read the layout from which stride is 1. c is contiguous; bias is
// undefined or a contiguous (N) tensor. All share one dtype (f32, f16 or bf16) and device.
inline OpTable<void(const Tensor& a, const Tensor& b, const Tensor& bias, const Tensor& c)> matmul_kernel("matmul");

}  // namespace glint
