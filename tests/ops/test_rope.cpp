// Rotary embedding against naive transliterations of HF transformers: the inverse frequencies of
// modeling_rope_utils (default, linear, llama3, dynamic) evaluated in double, and apply_rotary_pos_emb (llama's
// rotate_half, GPT-J's rotate_every_two with repeat_interleave'd sin / cos, GPT-NeoX's partial rotary) in double
// from the same f32 angles HF forms (inv_freq * position.float(), rounded to f32).
#include <cmath>
#include <numbers>

#include "runtime/ops/rope.h"
#include "tests/harness.h"

namespace glint::test {
namespace {

// HF _compute_*_parameters in double. (HF evaluates in f32; the comparison bound below covers that difference.)
std::vector<double> hf_inv_freq(const RopeConfig& cfg, int64_t dim, int64_t seq_len = 0) {
  const RopeScaling& s = cfg.scaling;
  double base = cfg.theta;
  if (s.type == RopeScaling::Type::dynamic && seq_len > s.original_max_position_embeddings)
    base *= std::pow(s.factor * double(seq_len) / double(s.original_max_position_embeddings) - (s.factor - 1),
                     double(dim) / double(dim - 2));
  std::vector<double> f;
  for (int64_t i = 0; i < dim; i += 2) f.push_back(1.0 / std::pow(base, double(i) / double(dim)));
  if (s.type == RopeScaling::Type::linear)
    for (double& x : f) x /= s.factor;
  if (s.type == RopeScaling::Type::llama3) {
    const double old_len = double(s.original_max_position_embeddings);
    const double low_wavelen = old_len / s.low_freq_factor, high_wavelen = old_len / s.high_freq_factor;
    for (double& x : f) {
      const double wavelen = 2 * std::numbers::pi / x;
      const double scaled = wavelen > low_wavelen ? x / s.factor : x;
      const double smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      const double smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
      x = (!(wavelen < high_wavelen) && !(wavelen > low_wavelen)) ? smoothed : scaled;
    }
  }
  return f;
}

// HF rounds the exponent 2i/dim to f32 before base ** exponent, which moves the result by up to
// ln(theta) * 2^-24 relative (7.8e-7 for theta = 5e5); the remaining f32 steps add a few ulp.
constexpr double kInvFreqRtol = 2e-6;

void expect_inv_freq(const RopeConfig& cfg, int64_t head_dim, int64_t seq_len = 0) {
  const std::vector<float> got = rope_inv_freq(cfg, head_dim, seq_len);
  const std::vector<double> want = hf_inv_freq(cfg, cfg.rotary_dim < 0 ? head_dim : cfg.rotary_dim, seq_len);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], kInvFreqRtol * want[i]) << "index " << i;
}

RopeConfig llama31() {  // Meta-Llama-3.1-8B's config.json
  RopeConfig c;
  c.theta = 500000;
  c.scaling = {RopeScaling::Type::llama3, 8.0, 1.0, 4.0, 8192};
  return c;
}

TEST(Rope, InverseFrequenciesMatchHfFormulas) {
  RopeConfig plain;
  expect_inv_freq(plain, 64);
  EXPECT_EQ(rope_inv_freq(plain, 64)[0], 1.0f);
  RopeConfig partial;  // GPT-NeoX-style rotary_pct = 0.25
  partial.rotary_dim = 16;
  partial.theta = 10000;
  expect_inv_freq(partial, 64);
  EXPECT_EQ(rope_inv_freq(partial, 64).size(), 8u);
  RopeConfig linear;
  linear.scaling = {RopeScaling::Type::linear, 4.0};
  expect_inv_freq(linear, 128);
  EXPECT_EQ(rope_inv_freq(linear, 128)[0], 0.25f);

  // Llama 3.1: all three bands of _compute_llama3_parameters occur for head_dim 128.
  const RopeConfig l3 = llama31();
  expect_inv_freq(l3, 128);
  const std::vector<float> f = rope_inv_freq(l3, 128), base = rope_inv_freq(RopeConfig{.theta = 500000}, 128);
  int kept = 0, divided = 0, smoothed = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    const double wavelen = 2 * std::numbers::pi / base[i];
    if (wavelen < 2048)
      kept += f[i] == base[i];
    else if (wavelen > 8192)
      divided += std::fabs(f[i] - base[i] / 8) <= 1e-6 * f[i];
    else
      smoothed += f[i] < base[i] && f[i] > base[i] / 8;
  }
  EXPECT_EQ(kept + divided + smoothed, 64);
  EXPECT_GT(kept, 0);
  EXPECT_GT(divided, 0);
  EXPECT_GT(smoothed, 0);
  EXPECT_NEAR(f[63], 1.0 / std::pow(500000.0, 126.0 / 128.0) / 8, kInvFreqRtol * f[63]);

  // Dynamic NTK: unscaled up to the trained length, a larger base beyond it.
  RopeConfig dyn;
  dyn.scaling = {RopeScaling::Type::dynamic, 2.0, 1.0, 4.0, 2048};
  EXPECT_EQ(rope_inv_freq(dyn, 64, 2048), rope_inv_freq(plain, 64));
  expect_inv_freq(dyn, 64, 5000);
  EXPECT_LT(rope_inv_freq(dyn, 64, 5000)[31], rope_inv_freq(plain, 64)[31]);
}

// HF apply_rotary_pos_emb, written as there: cos / sin of emb = cat(freqs, freqs) (or repeat_interleave for GPT-J),
// q * cos + rotate(q) * sin on the first rotary dims, the rest passed through. x is (B, H, T, D) row-major,
// positions (B or 1, T).
std::vector<float> ref_rope(const std::vector<float>& x, const Shape& s, const std::vector<int64_t>& pos,
                            bool per_batch, const std::vector<float>& inv_freq, bool interleaved) {
  const int64_t B = s[0], H = s[1], T = s[2], D = s[3], rot = 2 * int64_t(inv_freq.size()), half = rot / 2;
  std::vector<float> out(x.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t) {
        const float* q = x.data() + ((b * H + h) * T + t) * D;
        float* o = out.data() + ((b * H + h) * T + t) * D;
        const float p = float(pos[(per_batch ? b * T : 0) + t]);
        for (int64_t d = 0; d < D; ++d) {
          if (d >= rot) {
            o[d] = q[d];
            continue;
          }
          const int64_t j = interleaved ? d / 2 : d % half;
          const double angle = inv_freq[j] * p;  // f32 product, as HF
          const double rotated =
              interleaved ? (d % 2 == 0 ? -q[d + 1] : q[d - 1]) : (d < half ? -q[d + half] : q[d - half]);
          o[d] = float(q[d] * std::cos(angle) + rotated * std::sin(angle));
        }
      }
  return out;
}

struct RopeCase {
  Shape shape;  // (B, H, T, D)
  int64_t rotary_dim;
  bool interleaved, per_batch_positions;
  int64_t max_position;
};

TEST(Rope, MatchesHfOnEveryDeviceDtypeAndLayout) {
  const RopeCase cases[] = {
      {{2, 3, 5, 8}, -1, false, true, 64},        // llama
      {{1, 2, 7, 12}, 8, false, false, 64},       // GPT-NeoX / Phi partial rotary
      {{2, 1, 3, 10}, 6, true, true, 64},         // GPT-J interleaved, partial
      {{1, 1, 9, 64}, -1, false, false, 100000},  // long-context angles
      {{1, 2, 1, 4}, -1, true, false, 1},         // one token (decode), one frequency pair each
      {{0, 2, 3, 4}, -1, false, true, 8},         // empty batch
  };
  uint64_t seed = 1;
  for (const RopeCase& c : cases) {
    RopeConfig cfg = llama31();
    cfg.rotary_dim = c.rotary_dim;
    cfg.interleaved = c.interleaved;
    const int64_t B = c.shape[0], H = c.shape[1], T = c.shape[2], D = c.shape[3];
    const Shape pshape = c.per_batch_positions ? Shape{B, T} : Shape{T};
    const Tensor pos = randint(pshape, 0, c.max_position, DType::i64, Device::cpu(), ++seed);
    const std::vector<float> inv_freq = rope_inv_freq(cfg, D);
    for (DType dt : {DType::f32, DType::f16, DType::bf16}) {
      // x as attention code makes it: (B, T, H, D) storage viewed as (B, H, T, D).
      const Tensor xh = rand({B, T, H, D}, dt, Device::cpu(), ++seed).transpose(1, 2);
      const std::vector<float> want =
          ref_rope(xh.to_f32(), c.shape, pos.to_vector<int64_t>(), c.per_batch_positions, inv_freq, c.interleaved);
      for (Device dev : test_devices()) {
        for (DType pt : {DType::i64, DType::i32}) {
          SCOPED_TRACE(::testing::Message()
                       << shape_str(c.shape) << " rotary " << c.rotary_dim << (c.interleaved ? " interleaved " : " ")
                       << dtype_name(dt) << " " << dtype_name(pt) << " " << dev.str());
          Tensor x = xh.contiguous().to(dev).transpose(1, 2).contiguous().transpose(1, 2);  // strided on dev
          Tensor got = apply_rope(x, pos.to(pt).to(dev), cfg);
          EXPECT_EQ(got.shape(), c.shape);
          EXPECT_EQ(got.dtype(), dt);
          EXPECT_TRUE(got.is_contiguous());
          EXPECT_CLOSE(got, want, tol(dt));
        }
      }
    }
  }
}

TEST(Rope, DynamicScalingUsesTheLargestPosition) {
  RopeConfig cfg;
  cfg.scaling = {RopeScaling::Type::dynamic, 4.0, 1.0, 4.0, 16};
  const Tensor xh = rand({1, 2, 6, 16}, DType::f32, Device::cpu(), 3);
  for (int64_t last : {int64_t(10), int64_t(40)}) {  // within and beyond the trained length of 16
    const std::vector<int64_t> p = {0, 1, 2, 3, 4, last};
    const std::vector<float> want =
        ref_rope(xh.to_f32(), xh.shape(), p, false, rope_inv_freq(cfg, 16, last + 1), false);
    for (Device dev : test_devices())
      EXPECT_CLOSE(apply_rope(xh.to(dev), Tensor::from_vector(p, {6}, DType::i64, dev), cfg), want, tol(DType::f32));
  }
}

TEST(Rope, Errors) {
  const Device cpu = Device::cpu();
  const Tensor x = zeros({1, 2, 3, 8}, DType::f32, cpu), pos = zeros({3}, DType::i64, cpu);
  RopeConfig cfg;
  EXPECT_GLINT_ERROR(apply_rope(zeros({2, 3, 8}, DType::f32, cpu), pos, cfg), "[rope] x must be (B, H, T, D)");
  EXPECT_GLINT_ERROR(apply_rope(zeros({1, 2, 3, 8}, DType::i32, cpu), pos, cfg), "[rope] unsupported dtype i32");
  EXPECT_GLINT_ERROR(apply_rope(x, zeros({3}, DType::f32, cpu), cfg), "[rope] positions must be i64 or i32");
  EXPECT_GLINT_ERROR(apply_rope(x, zeros({4}, DType::i64, cpu), cfg), "[rope] positions of shape (4) do not match");
  EXPECT_GLINT_ERROR(apply_rope(x, zeros({2, 3}, DType::i64, cpu), cfg), "[rope] positions of shape (2,3)");
  cfg.rotary_dim = 5;
  EXPECT_GLINT_ERROR(apply_rope(x, pos, cfg), "[rope] rotary_dim 5 must be even");
  cfg.rotary_dim = 10;
  EXPECT_GLINT_ERROR(rope_inv_freq(cfg, 8), "[rope] rotary_dim 10 must be even and in [2, head_dim = 8]");
  for (Device dev : vulkan_devices())
    EXPECT_GLINT_ERROR(apply_rope(x, pos.to(dev), RopeConfig{}),
                       "[rope] tensors on different devices: cpu and " + dev.str());
}

}  // namespace
}  // namespace glint::test
