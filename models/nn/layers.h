// The building blocks models are assembled from, each loading its parameters by HF name from a VarBuilder.
// Linear is where adapters plug in (models/peft attaches LoRA through LinearState) and quantised weights later.
#pragma once
#include <cstdint>
#include <memory>
#include <utility>

#include "models/nn/var_builder.h"
#include "runtime/core/tensor.h"

namespace glint::nn {

// What an adapter computes in place of a Linear's x W^T + b (LoRA adds x A^T B^T * scale), given the layer's own
// weight and bias.
class LinearAdapter {
 public:
  virtual ~LinearAdapter() = default;
  virtual Tensor forward(const Tensor& x, const Tensor& weight, const Tensor& bias) const = 0;
  // The one weight matrix forward amounts to, for callers that fuse the matmul (a head's chunked loss); an error
  // where there is none.
  virtual Tensor weight(const Tensor& weight) const = 0;
};

// nn.Linear: y = x W^T + b with weight (out, in) and an optional bias (out). Copies share one LinearState, which
// a VarBuilder-built layer registers by its module name in the builder's ParameterStore.
class Linear {
 public:
  Linear() = default;
  Linear(const VarBuilder& vb, int64_t in_features, int64_t out_features, bool bias);
  // Shares existing parameters (tied lm_head); not registered, so adapters never target it.
  explicit Linear(Tensor weight, Tensor bias = {})
      : state_(std::make_shared<LinearState>(LinearState{std::move(weight), std::move(bias), nullptr})) {}
  Tensor forward(const Tensor& x) const;  // (..., in) -> (..., out)
  // The weight forward multiplies by: the layer's own, or what an adapter puts in its place (LinearAdapter::weight).
  Tensor weight() const { return state_->adapter ? state_->adapter->weight(state_->weight) : state_->weight; }

 private:
  std::shared_ptr<LinearState> state_ = std::make_shared<LinearState>();
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
