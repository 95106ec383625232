// Gradient checks for autograd tests: analytic gradients on the CPU against central finite differences, and every
// other device's gradients against the CPU's.
#pragma once
#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/core/tensor.h"

namespace glint::test {

using GradFn = std::function<Tensor(const std::vector<Tensor>&)>;

// The gradients of sum(fn(inputs) * w) (w fixed random, so every output element matters) with respect to each input
// that `differentiable` marks, computed by backward on `device`. Inputs are given on the CPU and moved there.
std::vector<Tensor> grads_on(const GradFn& fn, const std::vector<Tensor>& inputs, const std::vector<bool>& differentiable,
                             Device device);

// Checks fn's gradients: on the CPU against central differences in f32 (step 1e-2 on O(1) values: truncation error
// ~1e-5, rounding of the loss ~1e-5, so agreement to 2e-3 + 2e-2 relative is a real check, far below what a wrong rule
// gives), then on every test device against the CPU gradients at tol(f32) scaled by the reductions' length.
void check_gradients(const GradFn& fn, const std::vector<Tensor>& inputs, std::vector<bool> differentiable = {});

}  // namespace glint::test
