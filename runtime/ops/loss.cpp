#include "runtime/ops/loss.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/autograd/autocast.h"
#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/indexing.h"
#include "runtime/ops/logits_blocks.h"
#include "runtime/ops/matmul.h"
#include "runtime/ops/reduce.h"
#include "runtime/ops/softmax.h"

namespace glint {
namespace {

// The loss over every block, recorded with a backward that walks the blocks again.
Tensor blockwise_loss(const char* op, LogitsSource src, const std::vector<Tensor>& inputs, const Tensor& labels,
                      const CrossEntropyOptions& opts) {
  const int64_t n = src.rows(), v = src.vocab(), step = block_rows(opts.chunk_rows, v);
  const Device device = src.device();
  const BlockTargets t = block_targets(op, labels, v, opts.ignore_index, device);
  const double eps = opts.label_smoothing, divisor = opts.normalizer.value_or(double(t.count));
  GLINT_CHECK(eps >= 0.0 && eps <= 1.0, op, "label_smoothing must be in [0, 1], got ", eps);

  Tensor total = zeros({}, DType::f32, device);
  const bool keep = autograd::needs_grad(inputs);
  {
    autograd::NoGradGuard no_grad;
    for (int64_t r0 = 0; r0 < n; r0 += step) {
      const int64_t r1 = std::min(n, r0 + step);
      const Tensor lsm = log_softmax(src.forward_block(r0, r1, keep), -1);
      Tensor row = neg(gather(lsm, 1, t.labels.slice(0, r0, r1)));  // (rows, 1)
      if (eps > 0.0) row = row * (1.0 - eps) - mean(lsm, 1, true) * eps;
      total = total + sum_all(row * t.valid.slice(0, r0, r1));
    }
  }
  Tensor loss = total / divisor;
  if (!autograd::needs_grad(inputs)) return loss;
  // d loss / d logits = (softmax - (1 - eps) onehot - eps / V) * valid * g / divisor.
  record_blockwise(op, loss, inputs, src, step,
                   [t, eps, v, divisor, device](const Tensor& logits, int64_t r0, int64_t r1, const Tensor& g) {
                     const Tensor lab = t.labels.slice(0, r0, r1);
                     const Tensor scale = t.valid.slice(0, r0, r1) * (g.to(DType::f32) / divisor);
                     if (cross_entropy_grad_kernel.supports(device.kind)) {
                       const Tensor x = logits.contiguous(), d = Tensor::empty(x.shape(), DType::f32, device);
                       cross_entropy_grad_kernel(device, x, lab.contiguous(), scale.contiguous(), eps, d);
                       return d;
                     }
                     Tensor d = softmax(logits, -1);
                     if (eps > 0.0) d = d - eps / double(v);
                     return scatter_add(d, 1, lab, full(lab.shape(), -(1.0 - eps), DType::f32, device)) * scale;
                   });
  return loss;
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& labels, const CrossEntropyOptions& opts) {
  check_logits("cross_entropy", logits);
  check_labels("cross_entropy", labels, logits.dim(0));
  return blockwise_loss("cross_entropy", LogitsSource{logits, {}, {}}, {logits, labels}, labels, opts);
}

Tensor linear_cross_entropy(const Tensor& hidden, const Tensor& weight, const Tensor& labels,
                            const CrossEntropyOptions& opts) {
  if (autograd::autocast_dtype()) {
    const Tensor h = autograd::autocast(hidden), w = autograd::autocast(weight);
    autograd::AutocastGuard off(std::nullopt);
    return linear_cross_entropy(h, w, labels, opts);
  }
  check_hidden_weight("linear_cross_entropy", hidden, weight);
  check_labels("linear_cross_entropy", labels, hidden.dim(0));
  return blockwise_loss("linear_cross_entropy", LogitsSource{{}, hidden, weight}, {hidden, weight, labels}, labels,
                        opts);
}

}  // namespace glint
