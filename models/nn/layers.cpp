#include "models/nn/layers.h"

#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/conv.h"
#include "runtime/ops/indexing.h"
#include "runtime/ops/matmul.h"
#include "runtime/ops/norm.h"

namespace glint::nn {

Linear::Linear(const VarBuilder& vb, int64_t in_features, int64_t out_features, bool bias)
    : state_(std::make_shared<LinearState>(LinearState{vb.get("weight", {out_features, in_features}),
                                                       bias ? vb.get("bias", {out_features}) : Tensor(), nullptr,
                                                       nullptr})) {
  vb.parameters()->add_linear(vb.prefix(), state_);
}

Tensor Linear::forward(const Tensor& x) const {
  if (state_->adapter) return state_->adapter->forward(x, state_->weight, state_->bias);
  return base_linear(*state_, x, state_->weight, state_->bias);
}

Tensor Linear::weight() const {
  GLINT_CHECK(!state_->quantized, "nn", "a 4-bit Linear has no dense weight (dequantize_linears gives one back)");
  return state_->adapter ? state_->adapter->weight(state_->weight) : state_->weight;
}

Tensor base_linear(const LinearState& state, const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (!weight.defined() && state.quantized) return linear_4bit(x, *state.quantized, bias);
  return linear(x, weight.defined() ? weight : state.weight, bias);
}

void quantize_linears(ParameterStore& store, const Quant4Options& options) {
  autograd::NoGradGuard no_grad;
  for (const auto& [module, state] : store.linears()) {
    if (module == "lm_head" || state->quantized) continue;
    state->quantized = std::make_shared<const QuantizedTensor>(
        quantize_4bit(state->weight, options.type, options.blocksize, options.double_quant));
    state->weight = Tensor();
    store.remove(module + ".weight");
  }
}

void dequantize_linears(const ParameterStore& store, DType dtype) {
  autograd::NoGradGuard no_grad;
  for (const auto& [module, state] : store.linears()) {
    if (!state->quantized) continue;
    state->weight = dequantize_4bit(*state->quantized, dtype);
    state->quantized = nullptr;
  }
}

Embedding::Embedding(const VarBuilder& vb, int64_t num_embeddings, int64_t dim)
    : state_(std::make_shared<EmbeddingState>(EmbeddingState{vb.get("weight", {num_embeddings, dim}), nullptr})) {
  vb.parameters()->add_embedding(vb.prefix(), state_);
}

Tensor Embedding::forward(const Tensor& ids) const {
  const Tensor y = embedding(state_->weight, ids);
  return state_->adapter ? state_->adapter->forward(ids, y) : y;
}

Conv2d::Conv2d(const VarBuilder& vb, int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding)
    : state_(std::make_shared<Conv2dState>(
          Conv2dState{vb.get("weight", {out, in, kernel, kernel}), vb.get("bias", {out}), stride, padding, nullptr})) {
  vb.parameters()->add_conv2d(vb.prefix(), state_);
}

Tensor Conv2d::forward(const Tensor& x) const {
  const Tensor y = conv2d_with(*state_, x, state_->weight, state_->bias);
  return state_->adapter ? state_->adapter->forward(x, y) : y;
}

Tensor conv2d_with(const Conv2dState& state, const Tensor& x, const Tensor& weight, const Tensor& bias) {
  Conv2dParams p;
  p.stride = {state.stride, state.stride};
  p.padding = {state.padding, state.padding};
  return conv2d(x, weight, bias, p);
}

RMSNorm::RMSNorm(const VarBuilder& vb, int64_t dim, double eps)
    : weight_(vb.get("weight", {dim})), eps_(static_cast<float>(eps)) {}

Tensor RMSNorm::forward(const Tensor& x) const { return rms_norm(x, weight_, eps_); }

}  // namespace glint::nn
