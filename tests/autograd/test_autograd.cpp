// The autograd engine: leaves and accumulation, no_grad and detach, graph reuse, errors, checkpointing.
#include <gtest/gtest.h>

#include "runtime/autograd/autograd.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/matmul.h"
#include "runtime/ops/reduce.h"
#include "tests/harness.h"

namespace glint::test {
namespace {

TEST(Autograd, LeafGradientsAccumulateAcrossBackwardCalls) {
  Tensor w = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3}, DType::f32).requires_grad_();
  EXPECT_TRUE(w.requires_grad());
  EXPECT_TRUE(w.is_leaf());
  EXPECT_FALSE(w.grad().defined());
  Tensor y = sum_all(w * w);  // dy/dw = 2w
  EXPECT_TRUE(y.requires_grad());
  EXPECT_FALSE(y.is_leaf());
  y.backward();
  EXPECT_CLOSE(w.grad(), std::vector<float>{2, 4, 6}, tol(DType::f32));
  sum_all(w * 3.0).backward();  // accumulates: 2w + 3
  EXPECT_CLOSE(w.grad(), std::vector<float>{5, 7, 9}, tol(DType::f32));
  w.set_grad({});
  EXPECT_FALSE(w.grad().defined());
}

TEST(Autograd, SharedInputsSumTheirPaths) {
  // y = x * x + x: both uses of x reach the same leaf; a handle copy shares the leaf's state.
  Tensor x = Tensor::from_vector(std::vector<float>{0.5f, -1.f}, {2}, DType::f32);
  Tensor alias = x;
  x.requires_grad_();
  EXPECT_FALSE(alias.requires_grad());  // a copy taken before requires_grad_ has its own (absent) state
  x.ensure_autograd_meta();
  Tensor shared = x;
  sum_all(x * x + shared).backward();
  EXPECT_CLOSE(shared.grad(), std::vector<float>{2.f, -1.f}, tol(DType::f32));
}

TEST(Autograd, NoGradAndDetachRecordNothing) {
  Tensor w = rand({2, 2}).requires_grad_();
  {
    autograd::NoGradGuard no_grad;
    EXPECT_FALSE(autograd::grad_enabled());
    EXPECT_FALSE(matmul(w, w).requires_grad());
    autograd::EnableGradGuard again;
    EXPECT_TRUE(matmul(w, w).requires_grad());
  }
  EXPECT_TRUE(autograd::grad_enabled());
  EXPECT_FALSE(w.detach().requires_grad());
  // Only the path through the attached w contributes: d/dw sum(w * stop(w)) = stop(w).
  sum_all(w * w.detach()).backward();
  EXPECT_CLOSE(w.grad(), w.detach(), tol(DType::f32));
}

TEST(Autograd, GraphIsReleasedUnlessRetained) {
  Tensor w = rand({3}).requires_grad_();
  Tensor y = sum_all(exp(w));
  y.backward(full({}, 1.0), /*retain_graph=*/true);
  y.backward();
  EXPECT_CLOSE(w.grad(), exp(w.detach()) * 2.0, tol(DType::f32));
  EXPECT_GLINT_ERROR(y.backward(), "[backward] the graph through");
}

TEST(Autograd, Errors) {
  Tensor plain = rand({2});
  EXPECT_GLINT_ERROR(sum_all(plain).backward(), "[backward] the tensor does not require grad");
  Tensor w = rand({2, 2}).requires_grad_();
  EXPECT_GLINT_ERROR((w * 2.0).backward(), "[backward] a gradient must be given for a non-scalar root of shape (2,2)");
  EXPECT_GLINT_ERROR((w * 2.0).backward(rand({3})), "[backward] gradient of shape (3) for a root of shape (2,2)");
  EXPECT_GLINT_ERROR((w * 2.0).requires_grad_(), "[requires_grad_] only leaf tensors can be marked");
  EXPECT_GLINT_ERROR(Tensor::from_vector(std::vector<int64_t>{1}, {1}, DType::i64).requires_grad_(),
                     "[requires_grad_] only floating tensors take gradients, not i64");
  Tensor dst = zeros({2, 2});
  EXPECT_GLINT_ERROR(dst.copy_from(w), "[copy] an in-place copy is not differentiable");
  EXPECT_GLINT_ERROR(w.copy_from(dst), "[copy] an in-place copy is not differentiable");
}

TEST(Autograd, CastsAndDeviceMovesPassGradientsBack) {
  for (const Device& d : test_devices()) {
    Tensor w = Tensor::from_vector(std::vector<float>{1.5f, -2.f}, {2}, DType::f32).requires_grad_();
    // The gradient of a bf16 copy is bf16 (as in torch), cast back to the leaf's f32 on the way.
    sum_all(w.to(d).to(DType::bf16) * 3.0).backward();
    EXPECT_EQ(w.grad().dtype(), DType::f32);
    EXPECT_EQ(w.grad().device(), Device::cpu());
    EXPECT_CLOSE(w.grad(), std::vector<float>{3, 3}, tol(DType::f32)) << d.str();
  }
}

TEST(Autograd, DeepChainsDoNotOverflowTheStack) {
  Tensor w = full({4}, 1.0).requires_grad_();
  Tensor y = w;
  for (int i = 0; i < 20000; ++i) y = y + 0.0;
  sum_all(y).backward();
  EXPECT_CLOSE(w.grad(), std::vector<float>{1, 1, 1, 1}, tol(DType::f32));
}

TEST(Autograd, CheckpointMatchesThePlainGraph) {
  for (const Device& d : test_devices()) {
    Tensor w1 = rand({4, 4}, DType::f32, d, 1).requires_grad_(), w2 = rand({4, 4}, DType::f32, d, 2).requires_grad_();
    Tensor w3 = w1.detach().clone().requires_grad_(), w4 = w2.detach().clone().requires_grad_();
    Tensor x1 = rand({3, 4}, DType::f32, d, 3).requires_grad_(), x2 = x1.detach().clone().requires_grad_();
    auto block = [](const Tensor& x, const Tensor& a, const Tensor& b) { return matmul(silu(matmul(x, a)), b); };
    sum_all(exp(block(x1, w1, w2) * 0.1)).backward();
    Tensor y = autograd::checkpoint([&](const std::vector<Tensor>& in) { return block(in[0], w3, w4); }, {x2});
    sum_all(exp(y * 0.1)).backward();
    EXPECT_CLOSE(w3.grad(), w1.grad(), tol(DType::f32)) << d.str();
    EXPECT_CLOSE(w4.grad(), w2.grad(), tol(DType::f32)) << d.str();
    EXPECT_CLOSE(x2.grad(), x1.grad(), tol(DType::f32)) << d.str();
  }
}

}  // namespace
}  // namespace glint::test
