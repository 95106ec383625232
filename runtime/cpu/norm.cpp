// CPU norms: one row per iteration (OpenMP over rows), statistics by pairwise f32 sums, two passes for the
// variance (mean first, then squared deviations) so that large offsets do not cancel.
#include <cmath>

#include "runtime/cpu/reduce_rows.h"
#include "runtime/ops/norm.h"

namespace glint::cpu {
namespace {

// The value x takes once stored in T (HF rounds to the input dtype between steps of LlamaRMSNorm).
template <class T>
float round_to(float x) {
  return to_float(from_float<T>(x));
}

// Mean and 1 / sqrt(biased variance + eps) of f(0) ... f(len - 1).
template <class F>
std::pair<float, float> moments(int64_t len, const F& f, float eps) {
  const float mean = pairwise_sum(0, len, f) / float(len);
  const float var = pairwise_sum(0, len, [&](int64_t i) {
                      float d = f(i) - mean;
                      return d * d;
                    }) / float(len);
  return {mean, 1.f / std::sqrt(var + eps)};
}

void rms_norm_cpu(const Tensor& x, const Tensor& weight, float eps, const Tensor& out) {
  const RowSet rows(x, x.ndim() - 1);
  const int64_t len = rows.len, n = rows.count();
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) {
      const T* src = ptr<T>(x);
      const T* w = weight.defined() ? ptr<T>(weight) : nullptr;
      T* dst = ptr<T>(out);
#pragma omp parallel for schedule(static) if (n * len > 32768)
      for (int64_t o = 0; o < n; ++o) {
        const T* in = src + rows.offset(o);
        auto at = [&](int64_t i) { return to_float(in[i * rows.stride]); };
        const float ms = pairwise_sum(0, len, [&](int64_t i) { return at(i) * at(i); }) / float(len);
        const float r = 1.f / std::sqrt(ms + eps);
        T* y = dst + o * len;
        for (int64_t i = 0; i < len; ++i) {
          float v = round_to<T>(at(i) * r);
          y[i] = from_float<T>(w ? to_float(w[i]) * v : v);
        }
      }
    }
  });
}

void layer_norm_cpu(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, const Tensor& out) {
  const RowSet rows(x, x.ndim() - 1);
  const int64_t len = rows.len, n = rows.count();
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) {
      const T* src = ptr<T>(x);
      const T* w = weight.defined() ? ptr<T>(weight) : nullptr;
      const T* b = bias.defined() ? ptr<T>(bias) : nullptr;
      T* dst = ptr<T>(out);
#pragma omp parallel for schedule(static) if (n * len > 32768)
      for (int64_t o = 0; o < n; ++o) {
        const T* in = src + rows.offset(o);
        auto at = [&](int64_t i) { return to_float(in[i * rows.stride]); };
        const auto [mean, rstd] = moments(len, at, eps);
        T* y = dst + o * len;
        for (int64_t i = 0; i < len; ++i) {
          float v = (at(i) - mean) * rstd;
          if (w) v *= to_float(w[i]);
          if (b) v += to_float(b[i]);
          y[i] = from_float<T>(v);
        }
      }
    }
  });
}

// Rows are (n, group) pairs of channels_per_group * spatial contiguous elements.
void group_norm_cpu(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias, float eps, bool silu,
                    const Tensor& out) {
  const int64_t channels = x.dim(1), per_group = channels / groups;
  const int64_t spatial = x.numel() / (x.dim(0) * channels), len = per_group * spatial, n = x.dim(0) * groups;
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) {
      const T* src = ptr<T>(x);
      const T* w = weight.defined() ? ptr<T>(weight) : nullptr;
      const T* b = bias.defined() ? ptr<T>(bias) : nullptr;
      T* dst = ptr<T>(out);
#pragma omp parallel for schedule(static) if (n * len > 32768)
      for (int64_t o = 0; o < n; ++o) {
        const T* in = src + o * len;
        const auto [mean, rstd] = moments(len, [&](int64_t i) { return to_float(in[i]); }, eps);
        T* y = dst + o * len;
        const int64_t c0 = o % groups * per_group;
        for (int64_t c = 0; c < per_group; ++c) {
          // Fold the affine into one multiply-add per element.
          const float scale = rstd * (w ? to_float(w[c0 + c]) : 1.f);
          const float shift = (b ? to_float(b[c0 + c]) : 0.f) - mean * scale;
          for (int64_t s = c * spatial; s < (c + 1) * spatial; ++s) {
            float v = to_float(in[s]) * scale + shift;
            y[s] = from_float<T>(silu ? v / (1.f + std::exp(-v)) : v);
          }
        }
      }
    }
  });
}

const OpRegistration reg_rms(rms_norm_kernel, DeviceKind::cpu, rms_norm_cpu);
const OpRegistration reg_layer(layer_norm_kernel, DeviceKind::cpu, layer_norm_cpu);
const OpRegistration reg_group(group_norm_kernel, DeviceKind::cpu, group_norm_cpu);

}  // namespace
}  // namespace glint::cpu
