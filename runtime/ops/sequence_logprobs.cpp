#include "runtime/ops/sequence_logprobs.h"

#include <algorithm>

#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/indexing.h"
#include "runtime/ops/matmul.h"
#include "runtime/ops/softmax.h"

namespace glint {
namespace {

// Where a block's logits come from: a logits tensor, or hidden states times the LM head.
struct Source {
  Tensor logits;          // (N, V), or undefined
  Tensor hidden, weight;  // (N, C) and (V, C)

  int64_t rows() const { return logits.defined() ? logits.dim(0) : hidden.dim(0); }
  int64_t vocab() const { return logits.defined() ? logits.dim(1) : weight.dim(0); }
  Device device() const { return logits.defined() ? logits.device() : hidden.device(); }
  Tensor block(int64_t r0, int64_t r1) const {
    const Tensor l = logits.defined() ? logits.slice(0, r0, r1) : linear(hidden.slice(0, r0, r1), weight);
    return l.to(DType::f32);
  }
};

void check_labels(const Tensor& labels, int64_t rows, const char* op) {
  GLINT_CHECK(labels.defined() && labels.ndim() == 1 && labels.dim(0) == rows, op, "labels must be (", rows,
              ") to match the rows, got ", labels.defined() ? shape_str(labels.shape()) : "undefined");
  GLINT_CHECK(labels.dtype() == DType::i64 || labels.dtype() == DType::i32, op, "labels must be i64 or i32, got ",
              dtype_name(labels.dtype()));
}

Tensor blockwise_logprobs(const char* op, Source src, const std::vector<Tensor>& inputs, const Tensor& labels,
                          const TokenLogprobOptions& opts) {
  const int64_t n = src.rows(), v = src.vocab();
  const int64_t step =
      opts.chunk_rows > 0 ? opts.chunk_rows : std::max<int64_t>(1, (int64_t(64) << 20) / (4 * std::max<int64_t>(v, 1)));
  const Device device = src.device();
  // Ignored rows gather class 0 (so indices stay in range) and are masked to 0.
  const std::vector<int64_t> host = labels.to(DType::i64).to_vector<int64_t>();
  std::vector<int64_t> clamped(host.size());
  std::vector<float> valid(host.size());
  for (size_t i = 0; i < host.size(); ++i) {
    const bool ok = host[i] != opts.ignore_index;
    GLINT_CHECK(!ok || (host[i] >= 0 && host[i] < v), op, "label ", host[i], " at row ", i, " is out of range for ", v,
                " classes (ignore_index is ", opts.ignore_index, ")");
    clamped[i] = ok ? host[i] : 0;
    valid[i] = ok ? 1.0f : 0.0f;
  }
  const Tensor lab = Tensor::from_vector(clamped, {n, 1}, DType::i64, device);
  const Tensor mask = Tensor::from_vector(valid, {n, 1}, DType::f32, device);

  Tensor out = Tensor::empty({n, 1}, DType::f32, device);
  {
    autograd::NoGradGuard no_grad;
    for (int64_t r0 = 0; r0 < n; r0 += step) {
      const int64_t r1 = std::min(n, r0 + step);
      const Tensor lsm = log_softmax(src.block(r0, r1), -1);
      out.slice(0, r0, r1).copy_from(gather(lsm, 1, lab.slice(0, r0, r1)) * mask.slice(0, r0, r1));
    }
  }
  Tensor result = out.reshape({n}).contiguous();
  if (!autograd::needs_grad(inputs)) return result;

  const bool from_logits = src.logits.defined();
  const bool need_hidden = !from_logits && src.hidden.requires_grad();
  const bool need_weight = !from_logits && src.weight.requires_grad();
  src.logits = src.logits.defined() ? src.logits.detach() : Tensor();
  src.hidden = src.hidden.defined() ? src.hidden.detach() : Tensor();
  src.weight = src.weight.defined() ? src.weight.detach() : Tensor();
  autograd::record(op, result, inputs, [=](const Tensor& g) {
    // d out_i / d logits_i = onehot(label_i) - softmax(logits_i), zero at ignored rows.
    const Tensor scale = mask * g.to(DType::f32).reshape({n, 1});
    Tensor d_logits, d_hidden, d_weight;
    if (from_logits) d_logits = Tensor::empty(src.logits.shape(), DType::f32, device);
    if (need_hidden) d_hidden = Tensor::empty(src.hidden.shape(), DType::f32, device);
    if (need_weight) d_weight = zeros(src.weight.shape(), DType::f32, device);
    for (int64_t r0 = 0; r0 < n; r0 += step) {
      const int64_t r1 = std::min(n, r0 + step);
      const Tensor l = lab.slice(0, r0, r1);
      const Tensor d =
          scatter_add(neg(softmax(src.block(r0, r1), -1)), 1, l, full(l.shape(), 1.0, DType::f32, device)) *
          scale.slice(0, r0, r1);
      if (from_logits) {
        d_logits.slice(0, r0, r1).copy_from(d);
        continue;
      }
      if (need_hidden) d_hidden.slice(0, r0, r1).copy_from(matmul(d, src.weight.to(DType::f32)));
      if (need_weight) d_weight = d_weight + matmul(d.transpose(0, 1), src.hidden.slice(0, r0, r1).to(DType::f32));
    }
    if (from_logits) return autograd::Grads{d_logits.to(src.logits.dtype()), Tensor()};
    return autograd::Grads{need_hidden ? d_hidden.to(src.hidden.dtype()) : Tensor(),
                           need_weight ? d_weight.to(src.weight.dtype()) : Tensor(), Tensor()};
  });
  return result;
}

}  // namespace

Tensor token_logprobs(const Tensor& logits, const Tensor& labels, const TokenLogprobOptions& opts) {
  GLINT_CHECK(logits.defined() && logits.ndim() == 2, "token_logprobs", "logits must be (N, V), got ",
              logits.defined() ? shape_str(logits.shape()) : "undefined");
  GLINT_CHECK(is_floating(logits.dtype()), "token_logprobs", "logits must be f32, f16 or bf16, got ",
              dtype_name(logits.dtype()));
  check_labels(labels, logits.dim(0), "token_logprobs");
  return blockwise_logprobs("token_logprobs", Source{logits, {}, {}}, {logits, labels}, labels, opts);
}

Tensor linear_token_logprobs(const Tensor& hidden, const Tensor& weight, const Tensor& labels,
                             const TokenLogprobOptions& opts) {
  GLINT_CHECK(hidden.defined() && weight.defined() && hidden.ndim() == 2 && weight.ndim() == 2 &&
                  hidden.dim(1) == weight.dim(1),
              "linear_token_logprobs", "hidden must be (N, C) and weight (V, C), got ",
              hidden.defined() ? shape_str(hidden.shape()) : "undefined", " and ",
              weight.defined() ? shape_str(weight.shape()) : "undefined");
  GLINT_CHECK(hidden.device() == weight.device() && hidden.dtype() == weight.dtype(), "linear_token_logprobs",
              "hidden ", hidden.str(), " and weight ", weight.str(), " differ in device or dtype");
  check_labels(labels, hidden.dim(0), "linear_token_logprobs");
  return blockwise_logprobs("linear_token_logprobs", Source{{}, hidden, weight}, {hidden, weight, labels}, labels,
                            opts);
}

}  // namespace glint
