// nn.LayerNorm over the last dim with learned weight and bias (GPT-2, BERT), loaded by HF name from a VarBuilder.
#pragma once
#include <cstdint>

#include "models/nn/var_builder.h"
#include "runtime/ops/norm.h"

namespace glint::nn {

class LayerNorm {
 public:
  LayerNorm() = default;
  LayerNorm(const VarBuilder& vb, int64_t dim, double eps)
      : weight_(vb.get("weight", {dim})), bias_(vb.get("bias", {dim})), eps_(static_cast<float>(eps)) {}
  Tensor forward(const Tensor& x) const { return layer_norm(x, weight_, bias_, eps_); }

 private:
  Tensor weight_, bias_;
  float eps_ = 1e-5f;
};

}  // namespace glint::nn
