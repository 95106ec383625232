// CPU softmax: each row is gathered into an f32 buffer (rows may be strided), then max, sum of exponentials
// (pairwise) and the output pass run on that buffer.
#include <cmath>
#include <vector>

#include "runtime/cpu/reduce_rows.h"
#include "runtime/ops/softmax.h"

namespace glint::cpu {
namespace {

void softmax_cpu(const Tensor& x, int dim, bool log, const Tensor& out) {
  const RowSet in_rows(x, dim), out_rows(out, dim);
  const int64_t len = in_rows.len, n = in_rows.count();
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) {
      const T* src = ptr<T>(x);
      T* dst = ptr<T>(out);
#pragma omp parallel if (n * len > 32768)
      {
        std::vector<float> buf(static_cast<size_t>(len));
#pragma omp for schedule(static)
        for (int64_t o = 0; o < n; ++o) {
          const T* in = src + in_rows.offset(o);
          T* y = dst + out_rows.offset(o);
          float m = -INFINITY;
          for (int64_t i = 0; i < len; ++i) {
            buf[i] = to_float(in[i * in_rows.stride]);
            // NaN propagates into the max, so a row holding NaN comes out all NaN, as in torch.
            m = (buf[i] > m || std::isnan(buf[i])) && !std::isnan(m) ? buf[i] : m;
          }
          if (log) {
            float s = pairwise_sum(0, len, [&](int64_t i) { return std::exp(buf[i] - m); });
            float log_s = std::log(s);
            for (int64_t i = 0; i < len; ++i) y[i * out_rows.stride] = from_float<T>((buf[i] - m) - log_s);
          } else {
            for (int64_t i = 0; i < len; ++i) buf[i] = std::exp(buf[i] - m);
            float inv = 1.f / pairwise_sum(0, len, [&](int64_t i) { return buf[i]; });
            for (int64_t i = 0; i < len; ++i) y[i * out_rows.stride] = from_float<T>(buf[i] * inv);
          }
        }
      }
    }
  });
}

const OpRegistration reg_softmax(softmax_kernel, DeviceKind::cpu, softmax_cpu);

}  // namespace
}  // namespace glint::cpu
