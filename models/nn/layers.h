// The building blocks models are assembled from, each loading its parameters by HF name from a VarBuilder.
// Linear is the one place where quantised weights and LoRA adapters are meant to plug in later.
#pragma once
#include <cstdint>
#include <utility>

#include "models/nn/var_builder.h"
#include "runtime/core/tensor.h"

namespace glint::nn {

// nn.Linear: y = x W^T + b with weight (out, in) and an optional bias (out).
class Linear {
 public:
  Linear() = default;
  Linear(const VarBuilder& vb, int64_t in_features, int64_t out_features, bool bias);
  // Shares existing parameters (tied lm_head).
  explicit Linear(Tensor weight, Tensor bias = {}) : weight_(std::move(weight)), bias_(std::move(bias)) {}
  Tensor forward(const Tensor& x) const;  // (..., in) -> (..., out)
  const Tensor& weight() const { return weight_; }

 private:
  Tensor weight_, bias_;
};

// nn.Embedding: rows of weight (num_embeddings, dim) picked by ids.
class Embedding {
 public:
  Embedding() = default;
  Embedding(const VarBuilder& vb, int64_t num_embeddings, int64_t dim);
  Tensor forward(const Tensor& ids) const;  // (...) -> (..., dim)
  const Tensor& weight() const { return weight_; }

 private:
  Tensor weight_;
};

// LlamaRMSNorm over the last dim with a learned scale.
class RMSNorm {
 public:
  RMSNorm() = default;
  RMSNorm(const VarBuilder& vb, int64_t dim, double eps);
  Tensor forward(const Tensor& x) const;

 private:
  Tensor weight_;
  float eps_ = 1e-6f;
};

}  // namespace glint::nn
