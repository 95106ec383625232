#include "runtime/ops/loss.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/autograd/autocast.h"
#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/indexing.h"
#include "runtime/ops/matmul.h"
#include "runtime/ops/reduce.h"
#include "runtime/ops/softmax.h"

namespace glint {
namespace {

// Where a block's logits come from: a logits tensor, or hidden states times the LM head.
struct LogitsSource {
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

// Labels as i64 on the device, the 0/1 f32 mask of rows that count, and how many do.
struct Targets {
  Tensor labels;  // ignored rows point at class 0 so gathers stay in range
  Tensor valid;   // (N, 1) f32
  int64_t count = 0;
};

Targets targets(const Tensor& labels, int64_t vocab, const CrossEntropyOptions& opts, Device device) {
  const std::vector<int64_t> host = labels.to(DType::i64).to_vector<int64_t>();
  Targets t;
  std::vector<int64_t> clamped(host.size());
  std::vector<float> valid(host.size());
  for (size_t i = 0; i < host.size(); ++i) {
    const bool ok = host[i] != opts.ignore_index;
    GLINT_CHECK(!ok || (host[i] >= 0 && host[i] < vocab), "cross_entropy", "label ", host[i], " at row ", i,
                " is out of range for ", vocab, " classes (ignore_index is ", opts.ignore_index, ")");
    clamped[i] = ok ? host[i] : 0;
    valid[i] = ok ? 1.0f : 0.0f;
    t.count += ok;
  }
  const int64_t n = int64_t(host.size());
  t.labels = Tensor::from_vector(clamped, {n, 1}, DType::i64, device);
  t.valid = Tensor::from_vector(valid, {n, 1}, DType::f32, device);
  return t;
}

int64_t block_rows(const CrossEntropyOptions& opts, int64_t vocab) {
  if (opts.chunk_rows > 0) return opts.chunk_rows;
  return std::max<int64_t>(1, (int64_t(64) << 20) / (4 * std::max<int64_t>(vocab, 1)));
}

void check_labels(const Tensor& labels, int64_t rows, const char* op) {
  GLINT_CHECK(labels.defined() && labels.ndim() == 1 && labels.dim(0) == rows, op, "labels must be (", rows,
              ") to match the rows, got ", labels.defined() ? shape_str(labels.shape()) : "undefined");
  GLINT_CHECK(labels.dtype() == DType::i64 || labels.dtype() == DType::i32, op, "labels must be i64 or i32, got ",
              dtype_name(labels.dtype()));
}

// The loss over every block, recorded with a backward that walks the blocks again.
Tensor blockwise_loss(const char* op, LogitsSource src, const std::vector<Tensor>& inputs, const Tensor& labels,
                      const CrossEntropyOptions& opts) {
  const int64_t n = src.rows(), v = src.vocab(), step = block_rows(opts, v);
  const Device device = src.device();
  const Targets t = targets(labels, v, opts, device);
  const double eps = opts.label_smoothing, divisor = opts.normalizer.value_or(double(t.count));
  GLINT_CHECK(eps >= 0.0 && eps <= 1.0, op, "label_smoothing must be in [0, 1], got ", eps);

  Tensor total = zeros({}, DType::f32, device);
  {
    autograd::NoGradGuard no_grad;
    for (int64_t r0 = 0; r0 < n; r0 += step) {
      const int64_t r1 = std::min(n, r0 + step);
      const Tensor lsm = log_softmax(src.block(r0, r1), -1);
      Tensor row = neg(gather(lsm, 1, t.labels.slice(0, r0, r1)));  // (rows, 1)
      if (eps > 0.0) row = row * (1.0 - eps) - mean(lsm, 1, true) * eps;
      total = total + sum_all(row * t.valid.slice(0, r0, r1));
    }
  }
  Tensor loss = total / divisor;
  if (!autograd::needs_grad(inputs)) return loss;

  const bool from_logits = src.logits.defined();
  const bool need_hidden = !from_logits && src.hidden.requires_grad();
  const bool need_weight = !from_logits && src.weight.requires_grad();
  src.logits = src.logits.defined() ? src.logits.detach() : Tensor();
  src.hidden = src.hidden.defined() ? src.hidden.detach() : Tensor();
  src.weight = src.weight.defined() ? src.weight.detach() : Tensor();
  autograd::record(op, loss, inputs, [=](const Tensor& g) {
    // d loss / d logits = (softmax - (1 - eps) onehot - eps / V) * valid * g / divisor, block by block.
    const Tensor scale = t.valid * (g.to(DType::f32) / divisor);
    Tensor d_logits_all, d_hidden, d_weight;
    if (from_logits) d_logits_all = Tensor::empty(src.logits.shape(), DType::f32, device);
    if (need_hidden) d_hidden = Tensor::empty(src.hidden.shape(), DType::f32, device);
    if (need_weight) d_weight = zeros(src.weight.shape(), DType::f32, device);
    for (int64_t r0 = 0; r0 < n; r0 += step) {
      const int64_t r1 = std::min(n, r0 + step);
      Tensor d = softmax(src.block(r0, r1), -1);
      if (eps > 0.0) d = d - eps / double(v);
      const Tensor lab = t.labels.slice(0, r0, r1);
      d = scatter_add(d, 1, lab, full(lab.shape(), -(1.0 - eps), DType::f32, device)) * scale.slice(0, r0, r1);
      if (from_logits) {
        d_logits_all.slice(0, r0, r1).copy_from(d);
        continue;
      }
      if (need_hidden) d_hidden.slice(0, r0, r1).copy_from(matmul(d, src.weight.to(DType::f32)));
      if (need_weight) d_weight = d_weight + matmul(d.transpose(0, 1), src.hidden.slice(0, r0, r1).to(DType::f32));
    }
    if (from_logits) return autograd::Grads{d_logits_all.to(src.logits.dtype()), Tensor()};
    return autograd::Grads{need_hidden ? d_hidden.to(src.hidden.dtype()) : Tensor(),
                           need_weight ? d_weight.to(src.weight.dtype()) : Tensor(), Tensor()};
  });
  return loss;
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& labels, const CrossEntropyOptions& opts) {
  GLINT_CHECK(logits.defined() && logits.ndim() == 2, "cross_entropy", "logits must be (N, V), got ",
              logits.defined() ? shape_str(logits.shape()) : "undefined");
  GLINT_CHECK(is_floating(logits.dtype()), "cross_entropy", "logits must be f32, f16 or bf16, got ",
              dtype_name(logits.dtype()));
  check_labels(labels, logits.dim(0), "cross_entropy");
  return blockwise_loss("cross_entropy", LogitsSource{logits, {}, {}}, {logits, labels}, labels, opts);
}

Tensor linear_cross_entropy(const Tensor& hidden, const Tensor& weight, const Tensor& labels,
                            const CrossEntropyOptions& opts) {
  if (autograd::autocast_dtype()) {
    const Tensor h = autograd::autocast(hidden), w = autograd::autocast(weight);
    autograd::AutocastGuard off(std::nullopt);
    return linear_cross_entropy(h, w, labels, opts);
  }
  GLINT_CHECK(hidden.defined() && weight.defined() && hidden.ndim() == 2 && weight.ndim() == 2 &&
                  hidden.dim(1) == weight.dim(1),
              "linear_cross_entropy", "hidden must be (N, C) and weight (V, C), got ",
              hidden.defined() ? shape_str(hidden.shape()) : "undefined", " and ",
              weight.defined() ? shape_str(weight.shape()) : "undefined");
  GLINT_CHECK(hidden.device() == weight.device() && hidden.dtype() == weight.dtype(), "linear_cross_entropy",
              "hidden ", hidden.str(), " and weight ", weight.str(), " differ in device or dtype");
  check_labels(labels, hidden.dim(0), "linear_cross_entropy");
  return blockwise_loss("linear_cross_entropy", LogitsSource{{}, hidden, weight}, {hidden, weight, labels}, labels,
                        opts);
}

}  // namespace glint
