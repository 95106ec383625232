// Reverse-mode automatic differentiation over glint's ops, as torch.autograd does it: a tensor that requires grad
// carries a Meta; every op whose input requires grad (while grad mode is on) gives its output a Node holding the
// op's backward rule and edges to its inputs' Metas. Tensor::backward() walks the graph in reverse topological order
// and accumulates gradients into the leaves' Tensor::grad().
//
// Gradient rules live beside their ops (runtime/ops/<family>.cpp, views in runtime/core/tensor.cpp) and are written
// with the same ops, so every backward runs on every backend that runs the forward. Rules run with grad mode off:
// there are no higher-order gradients.
#pragma once
#include <functional>
#include <initializer_list>
#include <memory>
#include <vector>

#include "runtime/core/tensor.h"

namespace glint::autograd {

// Gradients with respect to each input of an op, in input order; undefined where the input takes none.
using Grads = std::vector<Tensor>;
// An op's backward rule: the gradient of its output in, the gradients of its inputs out.
using BackwardFn = std::function<Grads(const Tensor& grad_output)>;

struct Node;

// What a tensor in the graph carries; shared by every handle of that tensor (not by its views).
struct Meta {
  bool requires_grad = false;     // a leaf whose gradient is wanted
  Tensor grad;                    // accumulated into by backward() (leaves only)
  std::shared_ptr<Node> grad_fn;  // the op that made this tensor (non-leaves only)
};

// One input of a recorded op: its Meta (null when it takes no gradient) and the shape, dtype and device its
// gradient must have.
struct Edge {
  std::shared_ptr<Meta> meta;
  Shape shape;
  DType dtype = DType::f32;
  Device device;
};

struct Node {
  const char* name;  // the op, for errors ("matmul")
  std::vector<Edge> inputs;
  BackwardFn backward;  // released after use unless the graph is retained
};

// Whether ops record gradients on this thread (torch.is_grad_enabled); on by default.
bool grad_enabled();

// Turns recording off for its scope (torch.no_grad).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Turns recording on for its scope (torch.enable_grad), e.g. to recompute a checkpointed block inside backward.
class EnableGradGuard {
 public:
  EnableGradGuard();
  ~EnableGradGuard();
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

// True when grad mode is on and one of `inputs` requires grad: the op must then call record().
bool needs_grad(std::initializer_list<Tensor> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Makes `out` (a fresh result, outside any graph) the output of op `name` over `inputs`, differentiated by `fn`.
// fn must capture what it needs by value, detached (Tensor::detach) so the graph does not keep itself alive.
void record(const char* name, Tensor& out, const std::vector<Tensor>& inputs, BackwardFn fn);

// Backpropagates `grad` (root's shape; undefined means 1 for a one-element root) from `root` into every leaf that
// requires grad. The graph's saved tensors are released unless `retain_graph`.
void backward(const Tensor& root, const Tensor& grad = {}, bool retain_graph = false);

// g summed over the dims that broadcasting added or stretched, so it has `shape` (the rule of every broadcasting op).
Tensor sum_to(const Tensor& g, const Shape& shape);

// Gradient checkpointing (torch.utils.checkpoint): runs fn(inputs) without keeping its activations; backward runs
// it again with recording on and backpropagates through the recomputation. Parameters fn captures receive their
// gradients then. fn must be deterministic.
Tensor checkpoint(const std::function<Tensor(const std::vector<Tensor>&)>& fn, const std::vector<Tensor>& inputs);

}  // namespace glint::autograd
