// scaled_dot_product_attention: the composite against a naive double loop written here, then every device's fused
// kernel against the composite over decode, prefill and KV-cache shapes, GQA/MQA, masks, views, dtypes and errors.
#include <cmath>
#include <limits>

#include "runtime/ops/attention.h"
#include "runtime/ops/attention_grad.h"
#include "tests/harness.h"

namespace glint::test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr Tol kExact{0, 0};

// softmax(q k^T * scale + mask) v on contiguous host copies, for one tiny case with a (Tq, Tk) additive mask;
// with a window, query i (at key position i + Tk - Tq) sees only the `window` keys up to it.
std::vector<float> naive_attention(const Tensor& q, const Tensor& k, const Tensor& v, const std::vector<float>& mask,
                                   bool causal, double scale, int64_t window = 0) {
  const int64_t B = q.dim(0), Hq = q.dim(1), Tq = q.dim(2), D = q.dim(3), Hkv = k.dim(1), Tk = k.dim(2), Dv = v.dim(3);
  const std::vector<float> qv = q.to_f32(), kv = k.to_f32(), vv = v.to_f32();
  std::vector<float> out;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h)
      for (int64_t i = 0; i < Tq; ++i) {
        const int64_t g = h / (Hq / Hkv);
        std::vector<double> p(Tk);
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j < Tk; ++j) {
          double s = 0;
          for (int64_t d = 0; d < D; ++d)
            s += double(qv[((b * Hq + h) * Tq + i) * D + d]) * kv[((b * Hkv + g) * Tk + j) * D + d];
          s = s * scale + mask[i * Tk + j];
          if (causal && j > i + Tk - Tq) s = -INFINITY;
          if (window > 0 && i + Tk - Tq - j >= window) s = -INFINITY;
          p[j] = s;
          mx = std::max(mx, s);
        }
        for (auto& x : p) sum += x = mx == -INFINITY ? 0 : std::exp(x - mx);
        for (int64_t d = 0; d < Dv; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < Tk; ++j) acc += p[j] * vv[((b * Hkv + g) * Tk + j) * Dv + d];
          out.push_back(float(sum > 0 ? acc / sum : 0));
        }
      }
  return out;
}

TEST(Attention, CompositeMatchesNaiveLoop) {
  // B=2, Hq=4 over Hkv=2 (GQA), Tq=3 < Tk=5 causal (bottom-right), a (Tq,Tk) mask whose row 0 keeps only key 0
  // before the causal cut, and one row (2) masked everywhere -> zeros.
  Tensor q = rand({2, 4, 3, 4}, DType::f32, Device::cpu(), 1, -2, 2);
  Tensor k = rand({2, 2, 5, 4}, DType::f32, Device::cpu(), 2, -2, 2);
  Tensor v = rand({2, 2, 5, 3}, DType::f32, Device::cpu(), 3);
  std::vector<float> mask = {0, -kInf, 0.5f, -1, 0, 0.25f, 0, -0.5f, 0, 3, -kInf, -kInf, -kInf, -kInf, -kInf};
  Tensor m = Tensor::from_vector(mask, {3, 5}, DType::f32, Device::cpu());
  Tensor got = attention_composite(q, k, v, {.causal = true, .mask = m, .scale = 0.7});
  EXPECT_CLOSE(got, naive_attention(q, k, v, mask, true, 0.7), tol(DType::f32));
  EXPECT_CLOSE(got.slice(2, 2, 3), std::vector<float>(2 * 4 * 3, 0.f), kExact);
}

TEST(Attention, CompositeSlidingWindowMatchesNaiveLoop) {
  // Tq=4 over Tk=7 (a KV cache of 3), window 3: query 0 (key position 3) sees keys 1..3, query 3 sees 4..6.
  Tensor q = rand({2, 2, 4, 4}, DType::f32, Device::cpu(), 21, -2, 2);
  Tensor k = rand({2, 1, 7, 4}, DType::f32, Device::cpu(), 22, -2, 2);
  Tensor v = rand({2, 1, 7, 3}, DType::f32, Device::cpu(), 23);
  const std::vector<float> none(4 * 7, 0.f);
  for (int64_t window : {1, 3, 7}) {
    SCOPED_TRACE(window);
    EXPECT_CLOSE(attention_composite(q, k, v, {.causal = true, .window = window}),
                 naive_attention(q, k, v, none, true, 0.5, window), tol(DType::f32));
  }
  // window 1: each query sees only its own key, so the output is that key's value.
  EXPECT_CLOSE(attention_composite(q, k, v, {.causal = true, .window = 1}).select(1, 1), v.slice(2, 3, 7).select(1, 0),
               tol(DType::f32));
}

TEST(Attention, PaddingMaskDropsZeroKeys) {
  // A key-padding mask drops keys where it is 0 and keeps any nonzero value: the additive mask 0 / -inf.
  Tensor q = rand({1, 2, 3, 4}, DType::f32, Device::cpu(), 4, -2, 2),
         k = rand({1, 1, 5, 4}, DType::f32, Device::cpu(), 5);
  Tensor v = rand({1, 1, 5, 3}, DType::f32, Device::cpu(), 6);
  const std::vector<int32_t> keep = {1, 0, 7, 0, -1};
  std::vector<float> additive;
  for (int i = 0; i < 3; ++i)
    for (int32_t x : keep) additive.push_back(x ? 0.f : -kInf);
  Tensor pad = Tensor::from_vector(keep, {1, 5}, DType::i32, Device::cpu());
  EXPECT_CLOSE(attention_composite(q, k, v, {.mask = pad}), naive_attention(q, k, v, additive, false, 0.5),
               tol(DType::f32));
}

enum class MaskCase { none, padding, additive, additive_2d };
enum class Layout { contiguous, heads_last /* (B,T,H,D) transposed to (B,H,T,D), as HF passes */, strided };

struct Case {
  const char* name;
  int64_t B, Hq, Hkv, Tq, Tk, D, Dv;
  bool causal = false;
  MaskCase mask = MaskCase::none;
  Layout layout = Layout::contiguous;
  DType dtype = DType::f32;
  int64_t window = 0;  // sliding window (causal cases only)
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

Tensor make_input(const Case& c, int64_t heads, int64_t t, int64_t d, uint64_t seed, float range) {
  switch (c.layout) {
    case Layout::contiguous:
      return rand({c.B, heads, t, d}, c.dtype, Device::cpu(), seed, -range, range);
    case Layout::heads_last:
      return rand({c.B, t, heads, d}, c.dtype, Device::cpu(), seed, -range, range).transpose(1, 2);
    case Layout::strided:
      return rand_strided({c.B, heads, t, d}, c.dtype, Device::cpu(), seed, -range, range);
  }
  return {};
}

// Padding: random keys dropped, and the last batch entry masked entirely when B > 1 (its rows must be zeros).
// Additive: values in [-2, 2) with about a fifth -inf; 2-D is (Tq, Tk) broadcast over batch and heads.
Tensor make_mask(const Case& c) {
  switch (c.mask) {
    case MaskCase::none:
      return {};
    case MaskCase::padding: {
      std::vector<int64_t> keep = randint({c.B, c.Tk}, 0, 4, DType::i64, Device::cpu(), 7).to_vector<int64_t>();
      if (c.B > 1) std::fill(keep.end() - c.Tk, keep.end(), 0);
      return Tensor::from_vector(keep, {c.B, c.Tk}, DType::i64, Device::cpu()).to(DType::u8);
    }
    case MaskCase::additive:
    case MaskCase::additive_2d: {
      Shape s = c.mask == MaskCase::additive ? Shape{c.B, 1, c.Tq, c.Tk} : Shape{c.Tq, c.Tk};
      std::vector<float> m = rand(s, DType::f32, Device::cpu(), 8, -2, 2).to_f32();
      std::vector<float> u = rand(s, DType::f32, Device::cpu(), 9, 0, 1).to_f32();
      for (size_t i = 0; i < m.size(); ++i) m[i] = u[i] < 0.2f ? -kInf : m[i];
      return Tensor::from_vector(m, s, DType::f32, Device::cpu()).to(c.dtype);
    }
  }
  return {};
}

class AttentionFused : public ::testing::TestWithParam<Case> {};

TEST_P(AttentionFused, MatchesComposite) {
  const Case& c = GetParam();
  Tensor q = make_input(c, c.Hq, c.Tq, c.D, 11, 2), k = make_input(c, c.Hkv, c.Tk, c.D, 12, 2);
  Tensor v = make_input(c, c.Hkv, c.Tk, c.Dv, 13, 1), mask = make_mask(c);
  AttentionOptions opts{.causal = c.causal, .mask = mask, .window = c.window};
  Tensor want = attention_composite(q, k, v, opts);
  ASSERT_EQ(want.shape(), (Shape{c.B, c.Hq, c.Tq, c.Dv}));
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    opts.mask = mask.defined() ? mask.to(dev) : Tensor();
    Tensor got = scaled_dot_product_attention(q.to(dev), k.to(dev), v.to(dev), opts);
    EXPECT_EQ(got.device(), dev);
    EXPECT_EQ(got.dtype(), c.dtype);
    EXPECT_CLOSE(got, want, tol(c.dtype));
  }
}

// The CPU's fused backward (through autograd) against the composite backward it replaces.
TEST_P(AttentionFused, CpuGradientMatchesComposite) {
  const Case& c = GetParam();
  const Tensor q = make_input(c, c.Hq, c.Tq, c.D, 11, 2), k = make_input(c, c.Hkv, c.Tk, c.D, 12, 2);
  const Tensor v = make_input(c, c.Hkv, c.Tk, c.Dv, 13, 1), mask = make_mask(c);
  const Tensor g = rand({c.B, c.Hq, c.Tq, c.Dv}, c.dtype, Device::cpu(), 14, -1, 1);
  const AttentionOptions opts{.causal = c.causal, .mask = mask, .window = c.window};
  const Tensor qg = q.detach().requires_grad_(), kg = k.detach().requires_grad_(), vg = v.detach().requires_grad_();
  const Tensor out = scaled_dot_product_attention(qg, kg, vg, opts);
  out.backward(g);
  const autograd::Grads want = attention_grad_composite(q, k, v, out.detach(), g, opts);
  EXPECT_CLOSE(qg.grad(), want[0], tol(c.dtype));
  EXPECT_CLOSE(kg.grad(), want[1], tol(c.dtype));
  EXPECT_CLOSE(vg.grad(), want[2], tol(c.dtype));
}

// Tq <= 8 exercises the decode (split-key) path on Vulkan; longer Tq the tiled prefill path.
const Case kCases[] = {
    {"decode", 2, 4, 4, 1, 37, 64, 64},
    {"decode_gqa2_causal", 1, 8, 4, 1, 61, 128, 128, true},
    {"decode_gqa4_padding", 3, 8, 2, 1, 100, 64, 64, false, MaskCase::padding},
    {"decode_mqa_long", 1, 6, 1, 1, 700, 80, 80},
    {"decode_long_padding", 2, 4, 2, 1, 300, 64, 64, false, MaskCase::padding},
    {"decode_d256", 1, 4, 2, 1, 150, 256, 256, true},
    {"decode_odd_dims", 1, 3, 1, 1, 29, 7, 5},
    {"decode_mqa_many_rows", 2, 16, 1, 3, 45, 8, 8, true},
    {"decode_additive_f16", 2, 4, 2, 2, 61, 64, 64, false, MaskCase::additive, Layout::contiguous, DType::f16},
    {"decode_heads_last_bf16", 2, 4, 1, 1, 37, 128, 128, false, MaskCase::none, Layout::heads_last, DType::bf16},
    {"decode_kv_shorter_than_queries", 1, 2, 2, 6, 3, 8, 8, true},
    {"prefill_prime", 1, 2, 2, 37, 37, 8, 8},
    {"prefill_causal", 2, 3, 3, 61, 61, 64, 64, true},
    {"prefill_causal_kv_cache", 1, 4, 2, 13, 61, 64, 64, true},
    {"prefill_gqa4_d128", 1, 8, 2, 37, 37, 128, 128, true},
    {"prefill_mqa_dv_differs", 2, 4, 1, 23, 41, 80, 48},
    {"prefill_padding_causal", 2, 2, 1, 37, 37, 64, 64, true, MaskCase::padding},
    {"prefill_additive", 2, 2, 2, 19, 29, 64, 64, false, MaskCase::additive},
    {"prefill_additive_2d_causal", 1, 3, 1, 37, 37, 80, 80, true, MaskCase::additive_2d},
    {"prefill_more_queries_than_keys", 1, 2, 2, 29, 11, 64, 64, true},
    {"prefill_heads_last", 2, 4, 2, 29, 29, 64, 64, true, MaskCase::none, Layout::heads_last},
    {"prefill_strided_padding", 2, 2, 2, 17, 23, 8, 8, false, MaskCase::padding, Layout::strided},
    {"prefill_f16", 1, 4, 2, 37, 37, 64, 64, true, MaskCase::none, Layout::contiguous, DType::f16},
    {"prefill_bf16_padding", 2, 2, 2, 31, 31, 128, 128, true, MaskCase::padding, Layout::heads_last, DType::bf16},
    {"prefill_d256", 1, 2, 1, 19, 43, 256, 256, true},
    {"prefill_odd_dims", 1, 2, 1, 19, 23, 5, 3, true, MaskCase::additive},
    {"prefill_long_keys", 1, 1, 1, 11, 300, 64, 32, false, MaskCase::additive},
    // Sliding windows: smaller than a key tile, across split-key decode, with a KV cache, padding, f16 and a window
    // longer than the keys (no effect).
    {"decode_window", 2, 4, 2, 1, 150, 64, 64, true, MaskCase::none, Layout::contiguous, DType::f32, 37},
    {"decode_window_long_split", 1, 6, 1, 1, 700, 80, 80, true, MaskCase::padding, Layout::contiguous, DType::f32, 130},
    {"decode_window_rows", 2, 16, 1, 3, 45, 8, 8, true, MaskCase::none, Layout::contiguous, DType::f16, 5},
    {"prefill_window", 2, 2, 1, 61, 61, 64, 64, true, MaskCase::padding, Layout::contiguous, DType::f32, 7},
    {"prefill_window_kv_cache", 1, 4, 2, 13, 61, 64, 64, true, MaskCase::none, Layout::heads_last, DType::f16, 20},
    {"prefill_window_odd", 1, 3, 1, 37, 37, 5, 3, true, MaskCase::additive_2d, Layout::strided, DType::bf16, 11},
    {"prefill_window_wider_than_keys", 1, 2, 2, 29, 29, 64, 64, true, MaskCase::none, Layout::contiguous, DType::f32,
     100},
    // Several blocks of query rows in the CPU backward.
    {"prefill_causal_row_blocks", 2, 2, 1, 150, 150, 16, 16, true, MaskCase::padding},
    {"prefill_window_row_blocks", 1, 2, 1, 150, 170, 16, 8, true, MaskCase::none, Layout::heads_last, DType::f32, 40},
    // Long sequences, as a UNet's self-attention: several CPU tasks of query rows (128 without a causal mask) over
    // many key blocks; with GQA and heads-last views, padding (a batch entry fully masked), an additive mask, causal
    // block skipping and a window across key blocks.
    {"prefill_long_noncausal", 1, 2, 1, 300, 1100, 64, 64},
    {"prefill_long_noncausal_heads_last", 2, 2, 2, 70, 1030, 32, 48, false, MaskCase::padding, Layout::heads_last},
    {"prefill_long_additive", 1, 2, 2, 40, 600, 16, 16, false, MaskCase::additive},
    {"prefill_long_causal_window", 1, 2, 1, 600, 600, 16, 16, true, MaskCase::none, Layout::contiguous, DType::f32,
     530},
};
INSTANTIATE_TEST_SUITE_P(Attention, AttentionFused, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Attention, DecodeRowEqualsLastRowOfCausalPrefill) {
  // The KV-cache convention: the last query of a causal prefill sees every key, like a one-token decode step.
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    Tensor q = rand({1, 4, 23, 64}, DType::f32, dev, 1, -2, 2), k = rand({1, 2, 23, 64}, DType::f32, dev, 2, -2, 2);
    Tensor v = rand({1, 2, 23, 64}, DType::f32, dev, 3);
    Tensor full = scaled_dot_product_attention(q, k, v, {.causal = true});
    Tensor step = scaled_dot_product_attention(q.slice(2, 22, 23), k, v, {.causal = true});
    EXPECT_CLOSE(step, full.slice(2, 22, 23).contiguous(), tol(DType::f32));
  }
}

TEST(Attention, ScaleOption) {
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    Tensor q = rand({1, 2, 9, 16}, DType::f32, dev, 1), k = rand({1, 2, 12, 16}, DType::f32, dev, 2);
    Tensor v = rand({1, 2, 12, 16}, DType::f32, dev, 3);
    EXPECT_CLOSE(scaled_dot_product_attention(q, k, v), scaled_dot_product_attention(q, k, v, {.scale = 0.25}),
                 tol(DType::f32));
    EXPECT_CLOSE(scaled_dot_product_attention(q, k, v, {.scale = 3.0}), attention_composite(q, k, v, {.scale = 3.0}),
                 tol(DType::f32));
  }
}

TEST(Attention, ZeroSizes) {
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    auto run = [&](Shape qs, Shape ks, Shape vs) {
      return scaled_dot_product_attention(rand(qs, DType::f32, dev), rand(ks, DType::f32, dev),
                                          rand(vs, DType::f32, dev));
    };
    EXPECT_EQ(run({0, 2, 3, 8}, {0, 2, 4, 8}, {0, 2, 4, 8}).shape(), (Shape{0, 2, 3, 8}));
    EXPECT_EQ(run({1, 2, 0, 8}, {1, 2, 4, 8}, {1, 2, 4, 8}).shape(), (Shape{1, 2, 0, 8}));
    EXPECT_EQ(run({1, 2, 3, 8}, {1, 2, 4, 8}, {1, 2, 4, 0}).shape(), (Shape{1, 2, 3, 0}));
    // No keys at all: every row is fully masked, so zeros.
    EXPECT_CLOSE(run({1, 2, 3, 8}, {1, 1, 0, 8}, {1, 1, 0, 5}), std::vector<float>(30, 0.f), kExact);
  }
}

TEST(Attention, Errors) {
  Tensor q = rand({1, 4, 3, 8}), k = rand({1, 2, 5, 8}), v = rand({1, 2, 5, 8});
  const std::string op = "[scaled_dot_product_attention]";
  EXPECT_GLINT_ERROR(scaled_dot_product_attention(q, rand({1, 3, 5, 8}), rand({1, 3, 5, 8})), op + " query heads (4)");
  EXPECT_GLINT_ERROR(scaled_dot_product_attention(q, k, rand({1, 1, 5, 8})), op + " k and v head counts differ");
  EXPECT_GLINT_ERROR(scaled_dot_product_attention(q, rand({1, 2, 5, 6}), v), op + " head dims differ");
  EXPECT_GLINT_ERROR(scaled_dot_product_attention(q, k, rand({1, 2, 4, 8})), op + " k and v lengths differ");
  EXPECT_GLINT_ERROR(scaled_dot_product_attention(q, k, rand({2, 2, 5, 8})), op + " batch sizes differ");
  EXPECT_GLINT_ERROR(scaled_dot_product_attention(q.select(0, 0), k, v), op + " q must be (B, Hq, Tq, D)");
  EXPECT_GLINT_ERROR(scaled_dot_product_attention(rand({1, 4, 3, 0}), rand({1, 2, 5, 0}), v),
                     op + " head dim must be positive");
  EXPECT_GLINT_ERROR(scaled_dot_product_attention(q, k.to(DType::f16), v), op + " dtype mismatch: f32 and f16");
  EXPECT_GLINT_ERROR(scaled_dot_product_attention(q.to(DType::i32), k, v), op + " q must be f32, f16 or bf16");
  EXPECT_GLINT_ERROR(scaled_dot_product_attention(q, k, v, {.mask = zeros({1, 4}, DType::i64, Device::cpu())}),
                     op + " an integer mask is a key-padding mask");
  EXPECT_GLINT_ERROR(scaled_dot_product_attention(q, k, v, {.mask = zeros({3, 4}, DType::f32, Device::cpu())}),
                     op + " mask of shape (3,4)");
  EXPECT_GLINT_ERROR(attention_composite(q, k, rand({1, 1, 5, 8})), "[attention_composite] k and v head counts");
  EXPECT_GLINT_ERROR(scaled_dot_product_attention(q, k, v, {.window = 2}), op + " a sliding window needs causal");
  EXPECT_GLINT_ERROR(scaled_dot_product_attention(q, k, v, {.causal = true, .window = -1}),
                     op + " window must be >= 0");
  for (Device dev : vulkan_devices()) {
    SCOPED_TRACE(dev.str());
    EXPECT_GLINT_ERROR(scaled_dot_product_attention(q.to(dev), k, v), op + " tensors on different devices");
    Tensor big = rand({1, 1, 2, 264}, DType::f32, dev);
    EXPECT_GLINT_ERROR(scaled_dot_product_attention(big, big, big), op + " head dim 264 exceeds");
  }
}

}  // namespace
}  // namespace glint::test
