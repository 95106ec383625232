#include "models/causal_lm.h"

#include "runtime/core/error.h"

namespace glint {

Tensor shifted_labels(const Tensor& labels) {
  GLINT_CHECK(labels.defined() && labels.ndim() == 2 && labels.dim(1) >= 2, "loss",
              "labels must be (B, T) with T >= 2, got ", labels.defined() ? shape_str(labels.shape()) : "undefined");
  return labels.to(Device::cpu()).to(DType::i64).slice(1, 1, labels.dim(1)).contiguous().reshape({-1});
}

Tensor CausalLM::loss(const Tensor& input_ids, const Tensor& labels, const Tensor& attention_mask,
                      const CrossEntropyOptions& opts, const Tensor& positions) const {
  GLINT_CHECK(labels.defined() && labels.shape() == input_ids.shape(), "loss", "labels ",
              labels.defined() ? shape_str(labels.shape()) : "undefined", " must match input_ids ",
              shape_str(input_ids.shape()));
  const Tensor logits = forward(input_ids, attention_mask, positions, nullptr);  // (B, T, V)
  const int64_t t = logits.dim(1), v = logits.dim(2);
  return cross_entropy(logits.slice(1, 0, t - 1).reshape({-1, v}), shifted_labels(labels), opts);
}

void CausalLM::set_gradient_checkpointing(bool on) {
  GLINT_CHECK(!on, "train", "gradient checkpointing is not implemented for this architecture");
}

}  // namespace glint
