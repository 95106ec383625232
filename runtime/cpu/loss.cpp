// CPU gradient of a block of cross-entropy logits: one pass per row over an output row that starts as the logits,
// with the arithmetic of the ops it replaces (softmax_row as the softmax kernel runs it, then the scalar
// subtraction, the scatter_add at the label and the row scale, each rounded to f32 as they are), so it changes no
// bit and writes the (rows, V) block once instead of through three temporaries.
#include <algorithm>

#include "runtime/cpu/reduce_rows.h"
#include "runtime/ops/loss.h"
#include "runtime/cpu/simd_clones.h"

namespace glint::cpu {
namespace {

GLINT_SIMD_CLONES void cross_entropy_grad_cpu(const Tensor& logits, const Tensor& labels, const Tensor& row_scale,
                                              double eps, const Tensor& out) {
  const int64_t rows = logits.dim(0), v = logits.dim(1);
  const float *x = ptr<float>(logits), *scale = ptr<float>(row_scale);
  const int64_t* label = ptr<int64_t>(labels);
  float* d = ptr<float>(out);
  const float smooth = float(eps / double(v)), hit = float(-(1.0 - eps));
#pragma omp parallel for schedule(static) if (rows * v > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    float* row = d + r * v;
    std::copy_n(x + r * v, v, row);
    softmax_row(row, v, false);
    if (eps > 0.0)
      for (int64_t j = 0; j < v; ++j) row[j] -= smooth;
    row[label[r]] += hit;
    for (int64_t j = 0; j < v; ++j) row[j] *= scale[r];
  }
}

const OpRegistration reg(cross_entropy_grad_kernel, DeviceKind::cpu, cross_entropy_grad_cpu);

}  // namespace
}  // namespace glint::cpu
