#include "runtime/ops/logits_blocks.h"

#include <algorithm>

#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/matmul.h"

namespace glint {

Tensor LogitsSource::block(int64_t r0, int64_t r1) const {
  if (kept.defined()) return kept.slice(0, r0, r1);
  const Tensor l = logits.defined() ? logits.slice(0, r0, r1) : linear(hidden.slice(0, r0, r1), weight);
  return l.to(DType::f32);
}

Tensor LogitsSource::forward_block(int64_t r0, int64_t r1, bool keep) {
  Tensor l = block(r0, r1);
  if (keep && !logits.defined() && r0 == 0 && r1 == rows()) kept = l;
  return l;
}

void check_logits(const char* op, const Tensor& logits) {
  GLINT_CHECK(logits.defined() && logits.ndim() == 2, op, "logits must be (N, V), got ",
              logits.defined() ? shape_str(logits.shape()) : "undefined");
  GLINT_CHECK(is_floating(logits.dtype()), op, "logits must be f32, f16 or bf16, got ", dtype_name(logits.dtype()));
}

void check_hidden_weight(const char* op, const Tensor& hidden, const Tensor& weight) {
  GLINT_CHECK(hidden.defined() && weight.defined() && hidden.ndim() == 2 && weight.ndim() == 2 &&
                  hidden.dim(1) == weight.dim(1),
              op, "hidden must be (N, C) and weight (V, C), got ",
              hidden.defined() ? shape_str(hidden.shape()) : "undefined", " and ",
              weight.defined() ? shape_str(weight.shape()) : "undefined");
  GLINT_CHECK(hidden.device() == weight.device() && hidden.dtype() == weight.dtype(), op, "hidden ", hidden.str(),
              " and weight ", weight.str(), " differ in device or dtype");
}

void check_labels(const char* op, const Tensor& labels, int64_t rows) {
  GLINT_CHECK(labels.defined() && labels.ndim() == 1 && labels.dim(0) == rows, op, "labels must be (", rows,
              ") to match the rows, got ", labels.defined() ? shape_str(labels.shape()) : "undefined");
  GLINT_CHECK(labels.dtype() == DType::i64 || labels.dtype() == DType::i32, op, "labels must be i64 or i32, got ",
              dtype_name(labels.dtype()));
}

int64_t block_rows(int64_t chunk_rows, int64_t vocab) {
  if (chunk_rows > 0) return chunk_rows;
  return std::max<int64_t>(1, (int64_t(64) << 20) / (4 * std::max<int64_t>(vocab, 1)));
}

BlockTargets block_targets(const char* op, const Tensor& labels, int64_t vocab, int64_t ignore_index, Device device) {
  const std::vector<int64_t> host = labels.to(DType::i64).to_vector<int64_t>();
  BlockTargets t;
  std::vector<int64_t> clamped(host.size());
  std::vector<float> valid(host.size());
  for (size_t i = 0; i < host.size(); ++i) {
    const bool ok = host[i] != ignore_index;
    GLINT_CHECK(!ok || (host[i] >= 0 && host[i] < vocab), op, "label ", host[i], " at row ", i,
                " is out of range for ", vocab, " classes (ignore_index is ", ignore_index, ")");
    clamped[i] = ok ? host[i] : 0;
    valid[i] = ok ? 1.0f : 0.0f;
    t.count += ok;
  }
  const int64_t n = int64_t(host.size());
  t.labels = Tensor::from_vector(clamped, {n, 1}, DType::i64, device);
  t.valid = Tensor::from_vector(valid, {n, 1}, DType::f32, device);
  return t;
}

void record_blockwise(const char* op, Tensor& out, const std::vector<Tensor>& inputs, LogitsSource src, int64_t step,
                      LogitsBlockGrad d_block) {
  const bool from_logits = src.logits.defined();
  const bool need_hidden = !from_logits && src.hidden.requires_grad();
  const bool need_weight = !from_logits && src.weight.requires_grad();
  for (Tensor* t : {&src.logits, &src.hidden, &src.weight})
    if (t->defined()) *t = t->detach();
  autograd::record(op, out, inputs, [=](const Tensor& g) {
    const int64_t n = src.rows();
    const Device device = src.device();
    Tensor d_logits, d_hidden, d_weight;
    if (from_logits) d_logits = Tensor::empty(src.logits.shape(), DType::f32, device);
    if (need_hidden) d_hidden = Tensor::empty(src.hidden.shape(), DType::f32, device);
    for (int64_t r0 = 0; r0 < n; r0 += step) {
      const int64_t r1 = std::min(n, r0 + step);
      const Tensor d = d_block(src.block(r0, r1), r0, r1, g);
      if (from_logits) {
        d_logits.slice(0, r0, r1).copy_from(d);
        continue;
      }
      if (need_hidden) d_hidden.slice(0, r0, r1).copy_from(matmul(d, src.weight.to(DType::f32)));
      if (need_weight) {
        const Tensor dw = matmul(d.transpose(0, 1), src.hidden.slice(0, r0, r1).to(DType::f32));
        d_weight = d_weight.defined() ? d_weight + dw : dw;
      }
    }
    if (need_weight && !d_weight.defined()) d_weight = zeros(src.weight.shape(), DType::f32, device);  // no rows
    if (from_logits) return autograd::Grads{d_logits.to(src.logits.dtype()), Tensor()};
    return autograd::Grads{need_hidden ? d_hidden.to(src.hidden.dtype()) : Tensor(),
                           need_weight ? d_weight.to(src.weight.dtype()) : Tensor(), Tensor()};
  });
}

}  // namespace glint
