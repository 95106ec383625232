#include "runtime/autograd/autograd.h"

#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "runtime/autograd/autocast.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/reduce.h"

namespace glint::autograd {
namespace {

thread_local bool g_grad_enabled = true;

bool tracked(const Tensor& t) { return t.defined() && t.requires_grad(); }

// Metas reachable from root, each after every Meta whose gradient flows into it (reverse topological order).
// Iterative: a deep model's graph has thousands of nodes.
std::vector<Meta*> reverse_topological(Meta* root) {
  std::vector<Meta*> post;
  std::unordered_set<Meta*> seen{root};
  std::vector<std::pair<Meta*, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [meta, next] = stack.back();
    const Node* node = meta->grad_fn.get();
    if (node && next < node->inputs.size()) {
      Meta* child = node->inputs[next++].meta.get();
      if (child && seen.insert(child).second) stack.emplace_back(child, 0);
      continue;
    }
    post.push_back(meta);
    stack.pop_back();
  }
  return {post.rbegin(), post.rend()};
}

// g in the shape, dtype and device the edge's tensor has; a rule returning another shape is a bug named here.
Tensor conform(Tensor g, const Edge& e, const Node& node, size_t index) {
  GLINT_CHECK(g.shape() == e.shape, "autograd", node.name, " backward returned a gradient of shape ",
              shape_str(g.shape()), " for input ", index, " of shape ", shape_str(e.shape));
  return g.to(e.device).to(e.dtype);
}

}  // namespace

bool grad_enabled() { return g_grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }
EnableGradGuard::EnableGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = true; }
EnableGradGuard::~EnableGradGuard() { g_grad_enabled = previous_; }

bool needs_grad(std::initializer_list<Tensor> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (tracked(t)) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (tracked(t)) return true;
  return false;
}

void record(const char* name, Tensor& out, const std::vector<Tensor>& inputs, BackwardFn fn) {
  auto node = std::make_shared<Node>();
  node->name = name;
  node->backward = std::move(fn);
  node->inputs.reserve(inputs.size());
  for (const Tensor& t : inputs) {
    Edge e;
    if (tracked(t)) {
      e.meta = t.autograd_meta();
      e.shape = t.shape();
      e.dtype = t.dtype();
      e.device = t.device();
    }
    node->inputs.push_back(std::move(e));
  }
  auto meta = std::make_shared<Meta>();
  meta->grad_fn = std::move(node);
  out.set_autograd_meta(std::move(meta));
}

void backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
  GLINT_CHECK(root.defined() && root.requires_grad(), "backward",
              "the tensor does not require grad: no input of the ops that made it requires grad, or grad mode was off");
  Tensor seed = grad;
  if (!seed.defined()) {
    GLINT_CHECK(root.numel() == 1, "backward", "a gradient must be given for a non-scalar root of shape ",
                shape_str(root.shape()));
    seed = full(root.shape(), 1.0, root.dtype(), root.device());
  }
  GLINT_CHECK(seed.shape() == root.shape(), "backward", "gradient of shape ", shape_str(seed.shape()),
              " for a root of shape ", shape_str(root.shape()));

  // Rules compute in the dtypes the forward saved, as torch's backward runs outside autocast.
  NoGradGuard no_grad;
  AutocastGuard no_autocast(std::nullopt);
  Meta* root_meta = root.autograd_meta().get();
  std::unordered_map<Meta*, Tensor> pending{{root_meta, seed}};
  for (Meta* meta : reverse_topological(root_meta)) {
    auto it = pending.find(meta);
    if (it == pending.end()) continue;  // no gradient reached it (every path carried an undefined one)
    const Tensor g = std::move(it->second);
    pending.erase(it);
    Node* node = meta->grad_fn.get();
    if (!node) {  // a leaf: accumulate; the first gradient is copied so leaves never share storage
      meta->grad = meta->grad.defined() ? add(meta->grad, g) : g.clone();
      continue;
    }
    GLINT_CHECK(node->backward, "backward", "the graph through ", node->name,
                " was already used by a backward pass; pass retain_graph to use it twice");
    Grads grads = node->backward(g);
    GLINT_CHECK(grads.size() == node->inputs.size(), "autograd", node->name, " backward returned ", grads.size(),
                " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < grads.size(); ++i) {
      const Edge& e = node->inputs[i];
      if (!e.meta || !grads[i].defined()) continue;
      Tensor gi = conform(std::move(grads[i]), e, *node, i);
      auto [slot, fresh] = pending.try_emplace(e.meta.get(), gi);
      if (!fresh) slot->second = add(slot->second, gi);
    }
    if (!retain_graph) node->backward = nullptr;
  }
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  Tensor r = g;
  const int lead = g.ndim() - int(shape.size());
  GLINT_CHECK(lead >= 0, "autograd", "cannot sum a gradient of shape ", shape_str(g.shape()), " to ",
              shape_str(shape));
  for (int i = 0; i < lead; ++i) r = sum(r, 0);
  for (int i = 0; i < r.ndim(); ++i)
    if (shape[i] == 1 && r.dim(i) != 1) r = sum(r, i, /*keepdim=*/true);
  return r;
}

Tensor checkpoint(const std::function<Tensor(const std::vector<Tensor>&)>& fn, const std::vector<Tensor>& inputs) {
  Tensor out;
  {
    NoGradGuard no_grad;
    out = fn(inputs);
  }
  if (!g_grad_enabled) return out;
  // The parameters fn captures are invisible here, so the block is recorded whenever grad mode is on (even with no
  // tracked input); the recomputation decides what takes gradients.
  std::vector<Tensor> saved;
  for (const Tensor& t : inputs) saved.push_back(t.detach());
  std::vector<bool> wants;
  for (const Tensor& t : inputs) wants.push_back(tracked(t));
  out = out.detach();
  record("checkpoint", out, inputs, [fn, saved, wants, dtype = autocast_dtype()](const Tensor& g) {
    std::vector<Tensor> leaves = saved;
    for (size_t i = 0; i < leaves.size(); ++i)
      if (wants[i]) leaves[i] = saved[i].detach().requires_grad_();
    EnableGradGuard grad_on;
    Tensor y;
    {
      AutocastGuard as_in_forward(dtype);  // the recomputation must match the forward's precision
      y = fn(leaves);
    }
    if (y.requires_grad()) autograd::backward(y, g);
    Grads grads(leaves.size());
    for (size_t i = 0; i < leaves.size(); ++i)
      if (wants[i]) grads[i] = leaves[i].grad();
    return grads;
  });
  return out;
}

}  // namespace glint::autograd
