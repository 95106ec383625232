// Every differentiable op's gradient: finite differences on the CPU, and each Vulkan device against the CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "runtime/ops/attention.h"
#include "runtime/ops/conv.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/indexing.h"
#include "runtime/ops/loss.h"
#include "runtime/ops/matmul.h"
#include "runtime/ops/norm.h"
#include "runtime/ops/reduce.h"
#include "runtime/ops/rope.h"
#include "runtime/ops/softmax.h"
#include "tests/autograd/grad_check.h"
#include "tests/harness.h"

namespace glint::test {
namespace {

using In = std::vector<Tensor>;

TEST(OpGrads, BinaryBroadcasting) {
  const Tensor a = rand({3, 4}, DType::f32, Device::cpu(), 1), b = rand({4}, DType::f32, Device::cpu(), 2, 0.5f, 2.f);
  check_gradients([](const In& x) { return add(x[0], x[1]); }, {a, b});
  check_gradients([](const In& x) { return sub(x[0], x[1]); }, {a, b});
  check_gradients([](const In& x) { return mul(x[0], x[1]); }, {a, b});
  check_gradients([](const In& x) { return div(x[0], x[1]); }, {a, b});
  check_gradients([](const In& x) { return pow(x[1], x[0]); }, {a, b});
  check_gradients([](const In& x) { return maximum(x[0], x[1].unsqueeze(0)); }, {a, b});
  check_gradients([](const In& x) { return minimum(x[0], x[1]); }, {a, b});
}

TEST(OpGrads, Scalar) {
  const Tensor a = rand({2, 5}, DType::f32, Device::cpu(), 3, 0.5f, 2.f);
  check_gradients([](const In& x) { return (x[0] + 1.5) * 2.0 - 0.25; }, {a});
  check_gradients([](const In& x) { return x[0] / 3.0; }, {a});
  check_gradients([](const In& x) { return pow(x[0], 2.5); }, {a});
}

TEST(OpGrads, Unary) {
  // Away from the kinks of abs / relu / clamp, where the derivative jumps.
  const Tensor x = rand({3, 7}, DType::f32, Device::cpu(), 4, 0.3f, 1.5f);
  const Tensor s = rand({3, 7}, DType::f32, Device::cpu(), 5, -1.f, 1.f);
  for (UnaryOp op : {UnaryOp::neg, UnaryOp::exp, UnaryOp::log, UnaryOp::sqrt, UnaryOp::rsqrt})
    check_gradients([op](const In& v) { return unary(op, v[0]); }, {x});
  for (UnaryOp op : {UnaryOp::tanh, UnaryOp::sigmoid, UnaryOp::silu, UnaryOp::gelu, UnaryOp::gelu_tanh})
    check_gradients([op](const In& v) { return unary(op, v[0]); }, {s * 3.0});
  const Tensor kinked = rand({4, 5}, DType::f32, Device::cpu(), 6, 0.1f, 1.f) *
                        Tensor::from_vector(std::vector<float>{1, -1, 1, -1, 1}, {5}, DType::f32);
  check_gradients([](const In& v) { return abs(v[0]); }, {kinked});
  check_gradients([](const In& v) { return relu(v[0]); }, {kinked});
  check_gradients([](const In& v) { return clamp(v[0], -0.05, 0.5); }, {kinked * 0.9});
}

TEST(OpGrads, Where) {
  const Tensor cond = randint({3, 4}, 0, 2, DType::u8);
  check_gradients([](const In& v) { return where(v[0], v[1], v[2]); },
                  {cond, rand({3, 4}, DType::f32, Device::cpu(), 7), rand({4}, DType::f32, Device::cpu(), 8)});
}

TEST(OpGrads, Views) {
  const Tensor x = rand({3, 4, 5}, DType::f32, Device::cpu(), 9);
  check_gradients([](const In& v) { return v[0].slice(1, 1, 4, 2); }, {x});
  check_gradients([](const In& v) { return v[0].select(2, 3); }, {x});
  check_gradients([](const In& v) { return v[0].transpose(0, 2).contiguous(); }, {x});
  check_gradients([](const In& v) { return v[0].permute({2, 0, 1}).reshape({5, 12}); }, {x});
  check_gradients([](const In& v) { return v[0].unsqueeze(1).expand({3, 2, 4, 5}); }, {x});
  check_gradients([](const In& v) { return v[0].slice(1, 0, 1).squeeze(1); }, {x});
  check_gradients([](const In& v) { return v[0].clone(); }, {x});
}

TEST(OpGrads, Reductions) {
  const Tensor x = rand({3, 5}, DType::f32, Device::cpu(), 10);
  check_gradients([](const In& v) { return sum(v[0], 1); }, {x});
  check_gradients([](const In& v) { return mean(v[0], 0, true); }, {x});
  check_gradients([](const In& v) { return var(v[0], 1); }, {x});
  check_gradients([](const In& v) { return max(v[0], 1); }, {x});
  check_gradients([](const In& v) { return min(v[0], 0); }, {x});
  check_gradients([](const In& v) { return sum_all(v[0]); }, {x});
}

TEST(OpGrads, Softmax) {
  const Tensor x = rand({3, 6}, DType::f32, Device::cpu(), 11, -2.f, 2.f);
  check_gradients([](const In& v) { return softmax(v[0], -1); }, {x});
  check_gradients([](const In& v) { return log_softmax(v[0], 0); }, {x});
}

TEST(OpGrads, Norms) {
  const Tensor x = rand({2, 3, 8}, DType::f32, Device::cpu(), 12, -2.f, 2.f);
  const Tensor w = rand({8}, DType::f32, Device::cpu(), 13, 0.5f, 1.5f), b = rand({8}, DType::f32, Device::cpu(), 14);
  check_gradients([](const In& v) { return rms_norm(v[0], v[1], 1e-6f); }, {x, w});
  check_gradients([](const In& v) { return layer_norm(v[0], v[1], v[2], 1e-5f); }, {x, w, b});
  const Tensor img = rand({2, 4, 3, 2}, DType::f32, Device::cpu(), 15, -2.f, 2.f);
  const Tensor gw = rand({4}, DType::f32, Device::cpu(), 16, 0.5f, 1.5f), gb = rand({4}, DType::f32, Device::cpu(), 17);
  check_gradients([](const In& v) { return group_norm(v[0], 2, v[1], v[2], 1e-5f); }, {img, gw, gb});
  check_gradients([](const In& v) { return group_norm(v[0], 2, v[1], v[2], 1e-5f, true); }, {img, gw, gb});
}

TEST(OpGrads, Matmul) {
  check_gradients([](const In& v) { return matmul(v[0], v[1]); },
                  {rand({2, 3, 4}, DType::f32, Device::cpu(), 18), rand({4, 5}, DType::f32, Device::cpu(), 19)});
  check_gradients([](const In& v) { return matmul(v[0], v[1]); },
                  {rand({4}, DType::f32, Device::cpu(), 20), rand({2, 4, 3}, DType::f32, Device::cpu(), 21)});
  check_gradients([](const In& v) { return matmul(v[0], v[1]); },
                  {rand({4}, DType::f32, Device::cpu(), 22), rand({4}, DType::f32, Device::cpu(), 23)});
  check_gradients([](const In& v) { return linear(v[0], v[1], v[2]); },
                  {rand({2, 3, 4}, DType::f32, Device::cpu(), 24), rand({5, 4}, DType::f32, Device::cpu(), 25),
                   rand({5}, DType::f32, Device::cpu(), 26)});
}

TEST(OpGrads, Rope) {
  RopeConfig cfg;
  cfg.theta = 100;
  const Tensor pos = Tensor::from_vector(std::vector<int64_t>{0, 3, 7}, {3}, DType::i64);
  check_gradients([cfg](const In& v) { return apply_rope(v[0], v[1], cfg); },
                  {rand({1, 2, 3, 6}, DType::f32, Device::cpu(), 27), pos});
  cfg.interleaved = true;
  check_gradients([cfg](const In& v) { return apply_rope(v[0], v[1], cfg); },
                  {rand({1, 2, 3, 6}, DType::f32, Device::cpu(), 28), pos});
}

TEST(OpGrads, Indexing) {
  const Tensor w = rand({6, 4}, DType::f32, Device::cpu(), 29);
  const Tensor ids = Tensor::from_vector(std::vector<int64_t>{1, 5, 1, 0, 3}, {5}, DType::i64);
  const Tensor cols = Tensor::from_vector(std::vector<int32_t>{3, 0, 3}, {3}, DType::i32);
  check_gradients([](const In& v) { return embedding(v[0], v[1].reshape({1, 5})); }, {w, ids});
  check_gradients([](const In& v) { return index_select(v[0], 1, v[1]); }, {w, cols});
  const Tensor at = randint({6, 2}, 0, 4, DType::i64, Device::cpu(), 30);
  check_gradients([](const In& v) { return gather(v[0], 1, v[1]); }, {w, at});
  check_gradients([](const In& v) { return scatter_add(v[0], 1, v[1], v[2]); },
                  {w, at, rand({6, 3}, DType::f32, Device::cpu(), 31)});
  check_gradients([](const In& v) { return concat({v[0], v[1], v[0]}, -1); },
                  {w, rand({6, 2}, DType::f32, Device::cpu(), 32)});
}

TEST(OpGrads, Attention) {
  // GQA (4 query heads on 2 kv heads), causal with a KV-cache offset, a key-padding mask, and an additive mask.
  const Tensor q = rand({2, 4, 3, 4}, DType::f32, Device::cpu(), 33), k = rand({2, 2, 5, 4}, DType::f32, Device::cpu(), 34),
               v = rand({2, 2, 5, 3}, DType::f32, Device::cpu(), 35);
  // Masks travel as (non-differentiable) inputs so that each device gets its own copy.
  const Tensor keep = Tensor::from_vector(std::vector<int64_t>{1, 1, 1, 1, 1, 0, 1, 1, 1, 1}, {2, 5}, DType::i64);
  check_gradients(
      [](const In& x) {
        AttentionOptions o;
        o.causal = true;
        o.mask = x[3];
        return scaled_dot_product_attention(x[0], x[1], x[2], o);
      },
      {q, k, v, keep});
  check_gradients(
      [](const In& x) {
        AttentionOptions o;
        o.causal = true;
        o.window = 2;
        return scaled_dot_product_attention(x[0], x[1], x[2], o);
      },
      {q, k, v});
  check_gradients(
      [](const In& x) {
        AttentionOptions o;
        o.mask = x[3];
        o.scale = 0.3;
        return scaled_dot_product_attention(x[0], x[1], x[2], o);
      },
      {q, k, v, rand({1, 1, 3, 5}, DType::f32, Device::cpu(), 36)}, {true, true, true, false});
}

TEST(OpGrads, Conv) {
  Conv2dParams p;
  p.stride = {2, 1};
  p.padding = {1, 0};
  p.dilation = {1, 2};
  check_gradients([p](const In& x) { return conv2d(x[0], x[1], x[2], p); },
                  {rand({2, 3, 5, 6}, DType::f32, Device::cpu(), 41), rand({4, 3, 2, 2}, DType::f32, Device::cpu(), 42),
                   rand({4}, DType::f32, Device::cpu(), 43)});
  Conv2dParams grouped;
  grouped.groups = 2;
  grouped.padding = {1, 1};
  check_gradients([grouped](const In& x) { return conv2d(x[0], x[1], {}, grouped); },
                  {rand({1, 4, 4, 3}, DType::f32, Device::cpu(), 44), rand({2, 2, 3, 3}, DType::f32, Device::cpu(), 45)});
  check_gradients([](const In& x) { return upsample_nearest(x[0], 2); }, {rand({1, 2, 3, 2}, DType::f32, Device::cpu(), 46)});
  check_gradients([](const In& x) { return upsample_nearest(x[0], 5, 3); },
                  {rand({1, 2, 3, 2}, DType::f32, Device::cpu(), 47)});
}

TEST(OpGrads, CrossEntropy) {
  const Tensor logits = rand({5, 7}, DType::f32, Device::cpu(), 37, -2.f, 2.f);
  const Tensor labels = Tensor::from_vector(std::vector<int64_t>{3, -100, 0, 6, 2}, {5}, DType::i64);
  CrossEntropyOptions opts;
  opts.chunk_rows = 2;  // several blocks, one of them partial
  check_gradients([opts](const In& x) { return cross_entropy(x[0], x[1], opts); }, {logits, labels});
  opts.label_smoothing = 0.1;
  check_gradients([opts](const In& x) { return cross_entropy(x[0], x[1], opts); }, {logits, labels});
  const Tensor hidden = rand({5, 4}, DType::f32, Device::cpu(), 38), head = rand({7, 4}, DType::f32, Device::cpu(), 39);
  check_gradients([opts](const In& x) { return linear_cross_entropy(x[0], x[1], x[2], opts); }, {hidden, head, labels});
  // One block holds every row: the forward keeps the head's logits for the backward.
  check_gradients([](const In& x) { return linear_cross_entropy(x[0], x[1], x[2]); }, {hidden, head, labels});
}

// The CPU's fused block gradient against the ops it replaces, bit for bit: (softmax - eps / V, then - (1 - eps) at
// the label) * valid / count, over several blocks with ignored rows.
TEST(OpGrads, CrossEntropyCpuGradientMatchesOps) {
  const int64_t n = 70, v = 300;
  const Tensor logits = rand({n, v}, DType::f32, Device::cpu(), 48, -4.f, 4.f);
  std::vector<int64_t> lab = randint({n}, 0, v, DType::i64, Device::cpu(), 49).to_vector<int64_t>();
  std::vector<int64_t> clamped = lab;
  std::vector<float> valid(size_t(n), 1.f);
  for (int64_t i = 0; i < n; i += 7) lab[size_t(i)] = -100, clamped[size_t(i)] = 0, valid[size_t(i)] = 0.f;
  const double count = double(std::count(valid.begin(), valid.end(), 1.f));
  for (double eps : {0.0, 0.1}) {
    SCOPED_TRACE(eps);
    CrossEntropyOptions opts;
    opts.label_smoothing = eps;
    opts.chunk_rows = 32;
    const Tensor x = logits.detach().requires_grad_();
    cross_entropy(x, Tensor::from_vector(lab, {n}, DType::i64), opts).backward();
    Tensor d = softmax(logits, -1);
    if (eps > 0.0) d = d - eps / double(v);
    const Tensor at = Tensor::from_vector(clamped, {n, 1}, DType::i64);
    const Tensor scale = Tensor::from_vector(valid, {n, 1}, DType::f32) * (full({}, 1.0, DType::f32) / count);
    const Tensor want = scatter_add(d, 1, at, full({n, 1}, -(1.0 - eps), DType::f32)) * scale;
    EXPECT_CLOSE(x.grad(), want, Tol{0, 0});
  }
}

TEST(OpGrads, CrossEntropyMatchesTorchFormula) {
  // loss = mean over kept rows of (1 - s) * (lse - x[label]) + s * (lse - mean(x)), in double.
  const Tensor logits = rand({4, 6}, DType::f32, Device::cpu(), 40, -3.f, 3.f);
  const std::vector<int64_t> lab{5, 2, -100, 0};
  const std::vector<float> x = logits.to_f32();
  for (double s : {0.0, 0.2}) {
    double want = 0;
    int kept = 0;
    for (int r = 0; r < 4; ++r) {
      if (lab[r] < 0) continue;
      double m = -1e30, z = 0, avg = 0;
      for (int c = 0; c < 6; ++c) m = std::max(m, double(x[r * 6 + c]));
      for (int c = 0; c < 6; ++c) z += std::exp(x[r * 6 + c] - m), avg += x[r * 6 + c] / 6.0;
      const double lse = m + std::log(z);
      want += (1 - s) * (lse - x[r * 6 + lab[r]]) + s * (lse - avg);
      ++kept;
    }
    CrossEntropyOptions opts;
    opts.label_smoothing = s;
    for (const Device& d : test_devices()) {
      const Tensor got = cross_entropy(logits.to(d), Tensor::from_vector(lab, {4}, DType::i64), opts);
      EXPECT_NEAR(got.to_f32()[0], want / kept, 1e-5) << d.str();
    }
  }
  EXPECT_GLINT_ERROR(cross_entropy(logits, Tensor::from_vector(std::vector<int64_t>{1, 2, 6, 0}, {4}, DType::i64)),
                     "[cross_entropy] label 6 at row 2 is out of range for 6 classes");
  EXPECT_GLINT_ERROR(cross_entropy(logits, Tensor::from_vector(std::vector<int64_t>{1, 2}, {2}, DType::i64)),
                     "[cross_entropy] labels must be (4)");
}

}  // namespace
}  // namespace glint::test
