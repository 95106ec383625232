// The building blocks models are assembled from, each loading its parameters by HF name from a VarBuilder.
// Linear is where adapters plug in (models/peft attaches LoRA through LinearState) and where a frozen 4-bit weight
// (QLoRA) replaces the dense one.
#pragma once
#include <cstdint>
#include <memory>
#include <utility>

#include "models/nn/var_builder.h"
#include "runtime/core/tensor.h"
#include "runtime/ops/quant.h"

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

// What an adapter makes of an Embedding's or Conv2d's output given the layer's input (LoRA adds a low-rank term of
// that input).
class OutputAdapter {
 public:
  virtual ~OutputAdapter() = default;
  virtual Tensor forward(const Tensor& input, const Tensor& base_output) const = 0;
};

// nn.Linear: y = x W^T + b with weight (out, in) and an optional bias (out). Copies share one LinearState, which
// a VarBuilder-built layer registers by its module name in the builder's ParameterStore.
class Linear {
 public:
  Linear() = default;
  Linear(const VarBuilder& vb, int64_t in_features, int64_t out_features, bool bias);
  // Shares existing parameters (tied lm_head); not registered, so adapters never target it.
  explicit Linear(Tensor weight, Tensor bias = {})
      : state_(std::make_shared<LinearState>(LinearState{std::move(weight), std::move(bias), nullptr, nullptr})) {}
  Tensor forward(const Tensor& x) const;  // (..., in) -> (..., out)
  // The weight forward multiplies by: the layer's own, or what an adapter puts in its place (LinearAdapter::weight).
  // An error for a 4-bit layer, which has no dense weight.
  Tensor weight() const;

 private:
  std::shared_ptr<LinearState> state_ = std::make_shared<LinearState>();
};

// The base product of a Linear without its adapter: x W^T + b, or linear_4bit when the weight is 4-bit. `weight`
// and `bias` stand in for the state's own (an adapter's saved copy); an undefined weight means the state's.
Tensor base_linear(const LinearState& state, const Tensor& x, const Tensor& weight, const Tensor& bias);

// How Linear weights are quantised at load time (transformers' BitsAndBytesConfig(load_in_4bit=True)).
struct Quant4Options {
  Quant4Type type = Quant4Type::nf4;  // bnb_4bit_quant_type
  int64_t blocksize = 64;
  bool double_quant = false;  // bnb_4bit_use_double_quant
};
// Replaces the weight of every registered Linear except lm_head (which transformers keeps dense) by a frozen
// 4-bit one, layer by layer, and drops the dense weight from `store` so its memory goes.
void quantize_linears(ParameterStore& store, const Quant4Options& options);
// Puts dense weights, dequantised to `dtype`, back in place of every 4-bit one in the layers (peft merges adapters
// into the dequantised base this way). The store, which a loaded model only exposes read-only, does not list them.
void dequantize_linears(const ParameterStore& store, DType dtype);

// nn.Embedding: rows of weight (num_embeddings, dim) picked by ids. Copies share one EmbeddingState, registered
// by module name like a Linear's, so adapters can attach.
class Embedding {
 public:
  Embedding() = default;
  Embedding(const VarBuilder& vb, int64_t num_embeddings, int64_t dim);
  Tensor forward(const Tensor& ids) const;  // (...) -> (..., dim)
  const Tensor& weight() const { return state_->weight; }

 private:
  std::shared_ptr<EmbeddingState> state_ = std::make_shared<EmbeddingState>();
};

// nn.Conv2d with a square kernel: weight (out, in, k, k) and a bias (out). Registered like a Linear, so adapters
// can attach.
class Conv2d {
 public:
  Conv2d() = default;
  Conv2d(const VarBuilder& vb, int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0);
  Tensor forward(const Tensor& x) const;  // (N, in, H, W) -> (N, out, OH, OW)

 private:
  std::shared_ptr<Conv2dState> state_ = std::make_shared<Conv2dState>();
};
// conv2d of x with a Conv2dState's stride and padding, and `weight` / `bias` in place of its own.
Tensor conv2d_with(const Conv2dState& state, const Tensor& x, const Tensor& weight, const Tensor& bias);

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
