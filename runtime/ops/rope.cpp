#include "runtime/ops/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"

namespace glint {
namespace {

// torch evaluates these in f32 (powf, ~1 ulp); a double pow rounded once is the correctly rounded f32 result.
float pow_f32(float base, float exponent) { return static_cast<float>(std::pow(double(base), double(exponent))); }

int64_t rotary_dim_of(const RopeConfig& cfg, int64_t head_dim) {
  GLINT_CHECK(head_dim > 0, "rope", "head_dim must be positive, got ", head_dim);
  const int64_t dim = cfg.rotary_dim < 0 ? head_dim : cfg.rotary_dim;
  GLINT_CHECK(dim > 0 && dim % 2 == 0 && dim <= head_dim, "rope", "rotary_dim ", dim,
              " must be even and in [2, head_dim = ", head_dim, "]");
  return dim;
}

// HF _compute_llama3_parameters, op by op on f32 tensors. Python scalars meet f32 tensors as f32, and
// `scalar / tensor` is tensor.reciprocal() * scalar (torch's Tensor.__rtruediv__).
void llama3_scale(std::vector<float>& inv_freq, const RopeScaling& s) {
  const double old_context_len = double(s.original_max_position_embeddings);
  const float low_freq_wavelen = float(old_context_len / s.low_freq_factor);
  const float high_freq_wavelen = float(old_context_len / s.high_freq_factor);
  const float factor = float(s.factor);
  for (float& f : inv_freq) {
    const float wavelen = (1.0f / f) * float(2 * std::numbers::pi);
    const float scaled = wavelen > low_freq_wavelen ? f / factor : f;
    const float smooth = ((1.0f / wavelen) * float(old_context_len) - float(s.low_freq_factor)) /
                         float(s.high_freq_factor - s.low_freq_factor);
    const float smoothed = (1.0f - smooth) * scaled / factor + smooth * scaled;
    const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
    f = medium ? smoothed : scaled;
  }
}

}  // namespace

std::vector<float> rope_inv_freq(const RopeConfig& cfg, int64_t head_dim, int64_t seq_len) {
  const int64_t dim = rotary_dim_of(cfg, head_dim);
  const RopeScaling& s = cfg.scaling;
  GLINT_CHECK(cfg.theta > 0, "rope", "theta must be positive, got ", cfg.theta);
  GLINT_CHECK(s.type == RopeScaling::Type::none || s.factor > 0, "rope", "scaling factor must be positive, got ",
              s.factor);
  GLINT_CHECK(s.type != RopeScaling::Type::llama3 || s.high_freq_factor != s.low_freq_factor, "rope",
              "llama3 scaling needs high_freq_factor != low_freq_factor");
  GLINT_CHECK(s.type == RopeScaling::Type::none || s.original_max_position_embeddings > 0, "rope",
              "original_max_position_embeddings must be positive");
  GLINT_CHECK(s.type != RopeScaling::Type::dynamic || dim > 2, "rope", "dynamic scaling needs rotary_dim > 2");

  float base = float(cfg.theta);
  // HF _compute_dynamic_ntk_parameters with seq_len = max(position_ids) + 1, a tensor: every step runs in f32.
  // At or below the trained length HF keeps the unscaled frequencies.
  if (s.type == RopeScaling::Type::dynamic && seq_len > s.original_max_position_embeddings) {
    float t = float(s.factor) * float(seq_len);
    t = t / float(s.original_max_position_embeddings);
    t = t - float(s.factor - 1);
    t = pow_f32(t, float(double(dim) / double(dim - 2)));
    base = base * t;
  }
  // HF _compute_default_rope_parameters: 1 / base ** (arange(0, dim, 2).float() / dim).
  std::vector<float> inv_freq(size_t(dim / 2));
  for (int64_t i = 0; i < dim / 2; ++i) inv_freq[i] = 1.0f / pow_f32(base, float(2 * i) / float(dim));

  if (s.type == RopeScaling::Type::linear) {
    for (float& f : inv_freq) f /= float(s.factor);
  } else if (s.type == RopeScaling::Type::llama3) {
    llama3_scale(inv_freq, s);
  }
  return inv_freq;
}

Tensor apply_rope(const Tensor& x, const Tensor& positions, const RopeConfig& cfg) {
  GLINT_CHECK(x.defined() && positions.defined(), "rope", "undefined input tensor");
  GLINT_CHECK(x.ndim() == 4, "rope", "x must be (B, H, T, D), got shape ", shape_str(x.shape()));
  GLINT_CHECK(is_floating(x.dtype()), "rope", "unsupported dtype ", dtype_name(x.dtype()),
              " for x (expected f32, f16 or bf16)");
  GLINT_CHECK(x.device() == positions.device(), "rope", "tensors on different devices: ", x.device().str(), " and ",
              positions.device().str());
  GLINT_CHECK(positions.dtype() == DType::i64 || positions.dtype() == DType::i32, "rope",
              "positions must be i64 or i32, got ", dtype_name(positions.dtype()));
  const int64_t B = x.dim(0), T = x.dim(2), D = x.dim(3);
  const Shape& ps = positions.shape();
  GLINT_CHECK((ps.size() == 1 && ps[0] == T) || (ps.size() == 2 && ps[0] == B && ps[1] == T), "rope",
              "positions of shape ", shape_str(ps), " do not match x ", shape_str(x.shape()), ": expected (", B, ",", T,
              ") or (", T, ")");

  int64_t seq_len = 0;
  if (cfg.scaling.type == RopeScaling::Type::dynamic && positions.numel() > 0) {
    std::vector<int64_t> p = positions.to(DType::i64).to_vector<int64_t>();
    seq_len = *std::max_element(p.begin(), p.end()) + 1;
  }
  const std::vector<float> inv_freq = rope_inv_freq(cfg, D, seq_len);

  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  // HF rotates by position_ids.float() * inv_freq: the positions become f32 first, exactly as there.
  Tensor pos = positions.to(DType::f32).reshape({ps.size() == 2 ? B : 1, T}).expand({B, T});
  Tensor freq = Tensor::from_vector(inv_freq, {int64_t(inv_freq.size())}, DType::f32, x.device());
  rope_kernel(x.device(), x.detach(), pos, freq, cfg.interleaved, out);
  if (autograd::needs_grad({x})) {
    // A rotation's transpose is the rotation by the opposite angle: the same kernel at negated positions.
    autograd::record("rope", out, {x}, [back = neg(pos), freq, interleaved = cfg.interleaved](const Tensor& g) {
      Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
      rope_kernel(g.device(), g, back, freq, interleaved, gx);
      return autograd::Grads{gx};
    });
  }
  return out;
}

}  // namespace glint
