// Mixed-precision compute with f32 master weights, as torch.autocast does it for training: while an autocast dtype
// (bf16 or f16) is set on this thread, the ops that take weights — linear, matmul, embedding, the norms and
// linear_cross_entropy — cast their f32 operands to it first. The casts are recorded, so gradients flow back into
// the f32 parameters as f32, and everything downstream of the embedding runs in the low-precision dtype.
#pragma once
#include <optional>

#include "runtime/core/tensor.h"

namespace glint::autograd {

// The dtype ops compute in, or none (the default).
std::optional<DType> autocast_dtype();

// Sets (or, with nullopt, clears) the autocast dtype for its scope.
class AutocastGuard {
 public:
  explicit AutocastGuard(std::optional<DType> dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  std::optional<DType> previous_;
};

// t in the autocast dtype when one is set and t is f32; t itself otherwise (undefined stays undefined).
Tensor autocast(const Tensor& t);

}  // namespace glint::autograd
