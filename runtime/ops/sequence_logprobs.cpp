#include "runtime/ops/sequence_logprobs.h"

#include <algorithm>

#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/indexing.h"
#include "runtime/ops/logits_blocks.h"
#include "runtime/ops/matmul.h"
#include "runtime/ops/softmax.h"

namespace glint {
namespace {

Tensor blockwise_logprobs(const char* op, LogitsSource src, const std::vector<Tensor>& inputs, const Tensor& labels,
                          const TokenLogprobOptions& opts) {
  const int64_t n = src.rows(), v = src.vocab(), step = block_rows(opts.chunk_rows, v);
  const Device device = src.device();
  // Ignored rows gather class 0 (so indices stay in range) and are masked to 0.
  const BlockTargets t = block_targets(op, labels, v, opts.ignore_index, device);
  Tensor out = Tensor::empty({n, 1}, DType::f32, device);
  const bool keep = autograd::needs_grad(inputs);
  {
    autograd::NoGradGuard no_grad;
    for (int64_t r0 = 0; r0 < n; r0 += step) {
      const int64_t r1 = std::min(n, r0 + step);
      const Tensor lsm = log_softmax(src.forward_block(r0, r1, keep), -1);
      out.slice(0, r0, r1).copy_from(gather(lsm, 1, t.labels.slice(0, r0, r1)) * t.valid.slice(0, r0, r1));
    }
  }
  Tensor result = out.reshape({n}).contiguous();
  if (!autograd::needs_grad(inputs)) return result;
  // d out_i / d logits_i = onehot(label_i) - softmax(logits_i), zero at ignored rows.
  record_blockwise(op, result, inputs, src, step,
                   [t, n, device](const Tensor& logits, int64_t r0, int64_t r1, const Tensor& g) {
                     const Tensor l = t.labels.slice(0, r0, r1);
                     const Tensor scale = t.valid.slice(0, r0, r1) * g.to(DType::f32).reshape({n, 1}).slice(0, r0, r1);
                     return scatter_add(neg(softmax(logits, -1)), 1, l, full(l.shape(), 1.0, DType::f32, device)) *
                            scale;
                   });
  return result;
}

}  // namespace

Tensor token_logprobs(const Tensor& logits, const Tensor& labels, const TokenLogprobOptions& opts) {
  check_logits("token_logprobs", logits);
  check_labels("token_logprobs", labels, logits.dim(0));
  return blockwise_logprobs("token_logprobs", LogitsSource{logits, {}, {}}, {logits, labels}, labels, opts);
}

Tensor linear_token_logprobs(const Tensor& hidden, const Tensor& weight, const Tensor& labels,
                             const TokenLogprobOptions& opts) {
  check_hidden_weight("linear_token_logprobs", hidden, weight);
  check_labels("linear_token_logprobs", labels, hidden.dim(0));
  return blockwise_logprobs("linear_token_logprobs", LogitsSource{{}, hidden, weight}, {hidden, weight, labels},
                            labels, opts);
}

}  // namespace glint
