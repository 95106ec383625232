// CPU rotary embedding: cos / sin are computed once per (batch, position, frequency) and shared by all heads, then
// each (b, h, t) row is rotated with HF's formula x * cos + rotate(x) * sin in f32.
#include "runtime/ops/rope.h"

#include <cmath>
#include <memory>

#include "runtime/cpu/elem.h"
#include "runtime/cpu/simd_clones.h"

namespace glint::cpu {
namespace {

template <class E>
GLINT_SIMD_CLONES void rope_rows(const Tensor& x, const float* cs, int64_t half, bool interleaved, const Tensor& out) {
  const int64_t B = x.dim(0), H = x.dim(1), T = x.dim(2), D = x.dim(3), rot = 2 * half;
  const Shape& st = x.strides();
  const int64_t sd = st[3];
  const E* px = ptr<E>(x);
  E* po = ptr<E>(out);
#pragma omp parallel for schedule(static) if (B * H * T * D > 32768)
  for (int64_t row = 0; row < B * H * T; ++row) {
    const int64_t t = row % T, h = (row / T) % H, b = row / (T * H);
    const E* in = px + b * st[0] + h * st[1] + t * st[2];
    E* o = po + row * D;
    const float* c = cs + (b * T + t) * rot;  // [cos_0..cos_{half-1}, sin_0..sin_{half-1}]
    for (int64_t j = 0; j < half; ++j) {
      const int64_t d0 = interleaved ? 2 * j : j, d1 = interleaved ? 2 * j + 1 : j + half;
      const float x0 = to_float(in[d0 * sd]), x1 = to_float(in[d1 * sd]);
      o[d0] = from_float<E>(x0 * c[j] - x1 * c[half + j]);
      o[d1] = from_float<E>(x1 * c[j] + x0 * c[half + j]);
    }
    for (int64_t d = rot; d < D; ++d) o[d] = in[d * sd];
  }
}

void rope_cpu(const Tensor& x, const Tensor& positions, const Tensor& inv_freq, bool interleaved, const Tensor& out) {
  const int64_t B = x.dim(0), T = x.dim(2), half = inv_freq.numel();
  const float* freq = ptr<float>(inv_freq);
  const float* pos = ptr<float>(positions);
  const Shape& ps = positions.strides();
  // Every element is written below: allocated without the zero fill a std::vector would do.
  const std::unique_ptr<float[]> cs(new float[size_t(B * T * 2 * half)]);
#pragma omp parallel for schedule(static) if (B * T * half > 4096)
  for (int64_t bt = 0; bt < B * T; ++bt) {
    const float p = pos[(bt / T) * ps[0] + (bt % T) * ps[1]];
    float* c = cs.get() + bt * 2 * half;
    for (int64_t j = 0; j < half; ++j) {
      const float angle = freq[j] * p;  // f32, as HF's inv_freq @ position_ids.float()
      c[j] = std::cos(angle);
      c[half + j] = std::sin(angle);
    }
  }
  visit_dtype(x.dtype(), [&]<class E>() {
    if constexpr (is_float_elem<E>) rope_rows<E>(x, cs.get(), half, interleaved, out);
  });
}

const OpRegistration reg_rope(rope_kernel, DeviceKind::cpu, rope_cpu);

}  // namespace
}  // namespace glint::cpu
