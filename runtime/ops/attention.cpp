// Attention: argument checks and normalisation shared by the fused op and its composite, and the composite itself.
#include "runtime/ops/attention.h"

#include <cmath>
#include <limits>

#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/attention_grad.h"

namespace glint {
namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  GLINT_CHECK(a.device() == b.device(), op, "tensors on different devices: ", a.device().str(), " and ",
              b.device().str());
}

// Kernels read the last dim with a unit stride (coalesced on GPUs, vector loads on the CPU); HF's transposed
// (B,T,H,D) -> (B,H,T,D) views already have one, anything else is copied.
Tensor unit_last_stride(const Tensor& t) { return t.dim(-1) > 1 && t.strides().back() != 1 ? t.contiguous() : t; }

// The mask as f32 viewed as (B, Hq, Tq, Tk), with its kind.
std::pair<Tensor, AttentionMask> normalise_mask(const char* op, const Tensor& mask, const Shape& full) {
  const int64_t b = full[0], tk = full[3];
  if (!is_floating(mask.dtype())) {
    GLINT_CHECK(mask.ndim() == 2 && mask.dim(0) == b && mask.dim(1) == tk, op,
                "an integer mask is a key-padding mask (B, Tk) = ", shape_str({b, tk}), ", got ",
                shape_str(mask.shape()));
    // Nonzero stays nonzero through f32, so the kernels test `!= 0` on the converted copy (B*Tk values, cheap).
    Tensor m = mask.to(DType::f32).contiguous().reshape({b, 1, 1, tk}).expand(full);
    return {m, AttentionMask::keep};
  }
  bool ok = mask.ndim() <= 4;
  for (int i = 1; ok && i <= mask.ndim(); ++i) ok = mask.dim(-i) == 1 || mask.dim(-i) == full[4 - i];
  GLINT_CHECK(ok, op, "mask of shape ", shape_str(mask.shape()),
              " does not broadcast to (B, Hq, Tq, Tk) = ", shape_str(full));
  Tensor m = mask.to(DType::f32);
  while (m.ndim() < 4) m = m.unsqueeze(0);
  m = m.expand(full);
  // A mask broadcast along Tk (rare: it only matters where it holds -inf) is materialised for the unit key stride.
  if (tk > 1 && m.strides().back() != 1) m = m.contiguous();
  return {m, AttentionMask::additive};
}

}  // namespace

AttentionArgs attention_args(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                             const AttentionOptions& o) {
  GLINT_CHECK(q.defined() && k.defined() && v.defined(), op, "q, k and v must be defined");
  GLINT_CHECK(q.ndim() == 4, op, "q must be (B, Hq, Tq, D), got ", shape_str(q.shape()));
  GLINT_CHECK(k.ndim() == 4, op, "k must be (B, Hkv, Tk, D), got ", shape_str(k.shape()));
  GLINT_CHECK(v.ndim() == 4, op, "v must be (B, Hkv, Tk, Dv), got ", shape_str(v.shape()));
  check_same_device(op, q, k);
  check_same_device(op, q, v);
  GLINT_CHECK(is_floating(q.dtype()), op, "q must be f32, f16 or bf16, got ", dtype_name(q.dtype()));
  for (const Tensor* t : {&k, &v})
    GLINT_CHECK(t->dtype() == q.dtype(), op, "dtype mismatch: ", dtype_name(q.dtype()), " and ",
                dtype_name(t->dtype()));
  const int64_t b = q.dim(0), hq = q.dim(1), tq = q.dim(2), d = q.dim(3);
  const int64_t hkv = k.dim(1), tk = k.dim(2);
  GLINT_CHECK(k.dim(0) == b && v.dim(0) == b, op, "batch sizes differ: q ", shape_str(q.shape()), ", k ",
              shape_str(k.shape()), ", v ", shape_str(v.shape()));
  GLINT_CHECK(v.dim(1) == hkv, op, "k and v head counts differ: ", shape_str(k.shape()), " and ", shape_str(v.shape()));
  GLINT_CHECK(hkv > 0 && hq % hkv == 0, op, "query heads (", hq, ") must be a multiple of key/value heads (", hkv, ")");
  GLINT_CHECK(v.dim(2) == tk, op, "k and v lengths differ: ", shape_str(k.shape()), " and ", shape_str(v.shape()));
  GLINT_CHECK(k.dim(3) == d, op, "head dims differ: q ", shape_str(q.shape()), ", k ", shape_str(k.shape()));
  GLINT_CHECK(d > 0, op, "head dim must be positive, got q ", shape_str(q.shape()));

  AttentionArgs a;
  a.q = unit_last_stride(q);
  a.k = unit_last_stride(k);
  a.v = unit_last_stride(v);
  GLINT_CHECK(o.window >= 0, op, "window must be >= 0, got ", o.window);
  GLINT_CHECK(o.window == 0 || o.causal, op, "a sliding window needs causal attention");
  a.causal = o.causal;
  a.window = o.window;
  a.scale = float(o.scale ? *o.scale : 1.0 / std::sqrt(double(d)));
  if (o.mask.defined()) {
    check_same_device(op, q, o.mask);
    std::tie(a.mask, a.mask_kind) = normalise_mask(op, o.mask, {b, hq, tq, tk});
  }
  a.out = Tensor::empty({b, hq, tq, v.dim(3)}, q.dtype(), q.device());
  return a;
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opts) {
  if (autograd::needs_grad({q, k, v})) return attention_with_grad(q, k, v, opts);
  if (!attention_kernel.supports(q.device().kind)) return attention_composite(q, k, v, opts);
  AttentionArgs a = attention_args(kOp, q, k, v, opts);
  if (a.out.numel() > 0) attention_kernel(q.device(), a);
  return a.out;
}

Tensor attention_composite(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opts) {
  AttentionArgs a = attention_args("attention_composite", q, k, v, opts);
  if (a.out.numel() == 0) return a.out;
  auto host = [](const Tensor& t) { return t.to(Device::cpu()).to(DType::f32); };
  const Tensor qh = host(a.q), kh = host(a.k), vh = host(a.v);
  const Tensor mh = a.mask.defined() ? host(a.mask) : Tensor();
  const int64_t B = a.out.dim(0), Hq = a.out.dim(1), Tq = a.out.dim(2), Dv = a.out.dim(3);
  const int64_t Hkv = kh.dim(1), Tk = kh.dim(2), D = qh.dim(3), group = Hq / Hkv;
  // Element (i0, i1, i2, i3) of a 4-d host tensor.
  struct View {
    const float* p = nullptr;
    Shape s{0, 0, 0, 0};
    double operator()(int64_t i0, int64_t i1, int64_t i2, int64_t i3) const {
      return p[i0 * s[0] + i1 * s[1] + i2 * s[2] + i3 * s[3]];
    }
  };
  auto view = [](const Tensor& t) { return t.defined() ? View{t.data<float>(), t.strides()} : View{}; };
  const View qv = view(qh), kv = view(kh), vv = view(vh), mv = view(mh);
  std::vector<float> out(size_t(a.out.numel()));
  const double inf = std::numeric_limits<double>::infinity();
#pragma omp parallel for schedule(dynamic)
  for (int64_t row = 0; row < B * Hq * Tq; ++row) {
    const int64_t b = row / (Hq * Tq), h = row / Tq % Hq, t = row % Tq, hk = h / group;
    std::vector<double> s(static_cast<size_t>(Tk));
    double mx = -inf;
    for (int64_t j = 0; j < Tk; ++j) {
      double x = 0;
      for (int64_t d = 0; d < D; ++d) x += qv(b, h, t, d) * kv(b, hk, j, d);
      x *= a.scale;
      if (a.causal && j > t + (Tk - Tq)) x = -inf;
      if (a.window > 0 && j <= t + (Tk - Tq) - a.window) x = -inf;
      if (a.mask_kind == AttentionMask::additive) x += mv(b, h, t, j);
      if (a.mask_kind == AttentionMask::keep && mv(b, h, t, j) == 0) x = -inf;
      s[j] = x;
      mx = std::max(mx, x);
    }
    float* o = out.data() + row * Dv;
    if (mx == -inf) {  // every key masked: zeros by definition
      std::fill_n(o, Dv, 0.f);
      continue;
    }
    double sum = 0;
    for (auto& x : s) sum += (x = std::exp(x - mx));
    for (int64_t d = 0; d < Dv; ++d) {
      double acc = 0;
      for (int64_t j = 0; j < Tk; ++j) acc += s[j] * vv(b, hk, j, d);
      o[d] = float(acc / sum);
    }
  }
  a.out.copy_from(Tensor::from_vector(out, a.out.shape(), DType::f32, Device::cpu()));
  return a.out;
}

}  // namespace glint
