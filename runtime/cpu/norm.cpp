// CPU norms: OpenMP over rows; each row is widened into an f32 buffer (rows may be strided), statistics come from
// pairwise f32 sums, and the variance takes two passes (mean first, then squared deviations) so that large
// offsets do not cancel. Affine parameters are widened to f32 once per call.
#include "runtime/ops/norm.h"

#include <cmath>
#include <utility>
#include <vector>

#include <omp.h>

#include "runtime/cpu/reduce_rows.h"
#include "runtime/cpu/simd_clones.h"

namespace glint::cpu {
namespace {

// The value x takes once stored in T (HF rounds to the input dtype between steps of LlamaRMSNorm).
template <class T>
float round_to(float x) {
  return to_float(from_float<T>(x));
}

// p's values as f32 (empty when p is undefined).
template <class T>
std::vector<float> widened(const Tensor& p) {
  std::vector<float> v(p.defined() ? size_t(p.numel()) : 0);
  if (p.defined()) load_row(ptr<T>(p), p.numel(), 1, v.data());
  return v;
}

// Mean and 1 / sqrt(biased variance + eps) of buf[0, len).
std::pair<float, float> moments(const float* buf, int64_t len, float eps) {
  const float mean = pairwise_sum(0, len, [&](int64_t i) { return buf[i]; }) / float(len);
  const float var = pairwise_sum(0, len,
                                 [&](int64_t i) {
                                   float d = buf[i] - mean;
                                   return d * d;
                                 }) /
                    float(len);
  return {mean, 1.f / std::sqrt(var + eps)};
}

// Runs row(o, buf) for each of n rows with a per-thread f32 buffer of len elements.
template <class F>
GLINT_SIMD_CLONES void for_each_row(int64_t n, int64_t len, const F& row) {
#pragma omp parallel if (n * len > 32768)
  {
    std::vector<float> buf(static_cast<size_t>(len));
#pragma omp for schedule(static)
    for (int64_t o = 0; o < n; ++o) row(o, buf.data());
  }
}

GLINT_SIMD_CLONES void rms_norm_cpu(const Tensor& x, const Tensor& weight, float eps, const Tensor& out) {
  const RowSet rows(x, x.ndim() - 1);
  const int64_t len = rows.len;
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) {
      const std::vector<float> w = widened<T>(weight);
      for_each_row(rows.count(), len, [&](int64_t o, float* buf) {
        load_row(ptr<T>(x) + rows.offset(o), len, rows.stride, buf);
        const float ms = pairwise_sum(0, len, [&](int64_t i) { return buf[i] * buf[i]; }) / float(len);
        const float r = 1.f / std::sqrt(ms + eps);
        for (int64_t i = 0; i < len; ++i) buf[i] = round_to<T>(buf[i] * r);
        if (!w.empty())
          for (int64_t i = 0; i < len; ++i) buf[i] *= w[i];
        store_row(buf, len, ptr<T>(out) + o * len, 1);
      });
    }
  });
}

void layer_norm_cpu(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, const Tensor& out) {
  const RowSet rows(x, x.ndim() - 1);
  const int64_t len = rows.len;
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) {
      const std::vector<float> w = widened<T>(weight), b = widened<T>(bias);
      for_each_row(rows.count(), len, [&](int64_t o, float* buf) {
        load_row(ptr<T>(x) + rows.offset(o), len, rows.stride, buf);
        const auto [mean, rstd] = moments(buf, len, eps);
        for (int64_t i = 0; i < len; ++i) buf[i] = (buf[i] - mean) * rstd;
        if (!w.empty())
          for (int64_t i = 0; i < len; ++i) buf[i] *= w[i];
        if (!b.empty())
          for (int64_t i = 0; i < len; ++i) buf[i] += b[i];
        store_row(buf, len, ptr<T>(out) + o * len, 1);
      });
    }
  });
}

// Rows are (n, group) pairs of channels_per_group * spatial contiguous elements.
void group_norm_cpu(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias, float eps, bool silu,
                    const Tensor& out) {
  const int64_t channels = x.dim(1), per_group = channels / groups;
  const int64_t spatial = x.numel() / (x.dim(0) * channels), len = per_group * spatial;
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) {
      const std::vector<float> w = widened<T>(weight), b = widened<T>(bias);
      for_each_row(x.dim(0) * groups, len, [&](int64_t o, float* buf) {
        load_row(ptr<T>(x) + o * len, len, 1, buf);
        const auto [mean, rstd] = moments(buf, len, eps);
        const int64_t c0 = o % groups * per_group;
        for (int64_t c = 0; c < per_group; ++c) {
          // The affine folds into one multiply-add per element, as torch does.
          const float scale = rstd * (w.empty() ? 1.f : w[c0 + c]);
          const float shift = (b.empty() ? 0.f : b[c0 + c]) - mean * scale;
          float* v = buf + c * spatial;
          for (int64_t s = 0; s < spatial; ++s) v[s] = v[s] * scale + shift;
        }
        if (silu)
          for (int64_t i = 0; i < len; ++i) buf[i] = buf[i] / (1.f + exp_f32(-buf[i]));
        store_row(buf, len, ptr<T>(out) + o * len, 1);
      });
    }
  });
}

// One pass per row for dx; dw's column sums are Kahan-compensated per thread over its static share of rows, then
// added in thread order, so a given thread count always gives the same bits.
GLINT_SIMD_CLONES void rms_norm_grad_cpu(const Tensor& x, const Tensor& weight, const Tensor& g, float eps,
                                         const Tensor& dx, const Tensor& dw) {
  const int64_t rows = x.dim(0), len = x.dim(1);
  const float *px = ptr<float>(x), *pg = ptr<float>(g), *pw = weight.defined() ? ptr<float>(weight) : nullptr;
  float* pdx = ptr<float>(dx);
  std::vector<std::vector<float>> partial;
#pragma omp parallel if (rows * len > 32768)
  {
    std::vector<float> dn(static_cast<size_t>(len)), n(static_cast<size_t>(len));
    std::vector<float> sum(dw.defined() ? static_cast<size_t>(len) : 0), comp(sum.size());
#pragma omp for schedule(static)
    for (int64_t o = 0; o < rows; ++o) {
      const float *xr = px + o * len, *gr = pg + o * len;
      const float ms = pairwise_sum(0, len, [&](int64_t i) { return xr[i] * xr[i]; }) / float(len);
      const float r = 1.f / std::sqrt(ms + eps);
      for (int64_t i = 0; i < len; ++i) {
        n[i] = xr[i] * r;
        dn[i] = pw ? gr[i] * pw[i] : gr[i];
      }
      const float c = pairwise_sum(0, len, [&](int64_t i) { return dn[i] * n[i]; }) / float(len);
      float* dxr = pdx + o * len;
      for (int64_t i = 0; i < len; ++i) dxr[i] = (dn[i] - n[i] * c) * r;
      for (size_t i = 0; i < sum.size(); ++i) kahan_add(sum[i], comp[i], gr[i] * n[i]);
    }
#pragma omp single
    partial.resize(size_t(omp_get_num_threads()));
    partial[size_t(omp_get_thread_num())] = std::move(sum);
  }
  if (!dw.defined()) return;
  float* pdw = ptr<float>(dw);
  for (int64_t i = 0; i < len; ++i) {
    float s = 0, c = 0;
    for (const std::vector<float>& p : partial) kahan_add(s, c, p[size_t(i)]);
    pdw[i] = s;
  }
}

const OpRegistration reg_rms(rms_norm_kernel, DeviceKind::cpu, rms_norm_cpu);
const OpRegistration reg_rms_grad(rms_norm_grad_kernel, DeviceKind::cpu, rms_norm_grad_cpu);
const OpRegistration reg_layer(layer_norm_kernel, DeviceKind::cpu, layer_norm_cpu);
const OpRegistration reg_group(group_norm_kernel, DeviceKind::cpu, group_norm_cpu);

}  // namespace
}  // namespace glint::cpu
