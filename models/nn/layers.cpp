#include "models/nn/layers.h"

#include "runtime/ops/indexing.h"
#include "runtime/ops/matmul.h"
#include "runtime/ops/norm.h"

namespace glint::nn {

Linear::Linear(const VarBuilder& vb, int64_t in_features, int64_t out_features, bool bias)
    : state_(std::make_shared<LinearState>(LinearState{vb.get("weight", {out_features, in_features}),
                                                       bias ? vb.get("bias", {out_features}) : Tensor(), nullptr})) {
  vb.parameters()->add_linear(vb.prefix(), state_);
}

Tensor Linear::forward(const Tensor& x) const {
  if (state_->adapter) return state_->adapter->forward(x, state_->weight, state_->bias);
  return linear(x, state_->weight, state_->bias);
}

Embedding::Embedding(const VarBuilder& vb, int64_t num_embeddings, int64_t dim)
    : weight_(vb.get("weight", {num_embeddings, dim})) {}

Tensor Embedding::forward(const Tensor& ids) const { return embedding(weight_, ids); }

RMSNorm::RMSNorm(const VarBuilder& vb, int64_t dim, double eps)
    : weight_(vb.get("weight", {dim})), eps_(static_cast<float>(eps)) {}

Tensor RMSNorm::forward(const Tensor& x) const { return rms_norm(x, weight_, eps_); }

}  // namespace glint::nn
