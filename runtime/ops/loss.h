// Losses for training: cross-entropy over a vocabulary (torch.nn.functional.cross_entropy semantics with
// ignore_index and label_smoothing), computed a block of rows at a time so that a large vocabulary's f32 logits never
// exist for the whole batch at once, and fused with the LM head when given hidden states.
#pragma once
#include <cstdint>
#include <optional>

#include "runtime/core/tensor.h"
#include "runtime/ops/registry.h"

namespace glint {

struct CrossEntropyOptions {
  int64_t ignore_index = -100;   // rows with this label take no loss (torch's default)
  double label_smoothing = 0.0;  // torch's: (1 - s) * nll + s * mean over classes of -log p
  // The divisor of the summed loss: the number of non-ignored rows when absent (torch's reduction="mean"), or a
  // given count such as transformers' num_items_in_batch under gradient accumulation.
  std::optional<double> normalizer;
  // Rows per block; 0 picks one so a block's f32 logits take about 64 MiB.
  int64_t chunk_rows = 0;
};

// Mean cross-entropy of logits (N, V) (f32 / f16 / bf16, computed in f32) against labels (N) (i32 / i64, any
// device): a 0-d f32 tensor on the logits' device. All rows ignored gives NaN, as torch does.
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, const CrossEntropyOptions& opts = {});

// cross_entropy(linear(hidden, weight), labels) for hidden (N, C) and an LM head weight (V, C), without holding more
// than one block of logits: backward recomputes each block's logits (or reuses them when one block holds every row)
// and accumulates the hidden and weight gradients block by block.
Tensor linear_cross_entropy(const Tensor& hidden, const Tensor& weight, const Tensor& labels,
                            const CrossEntropyOptions& opts = {});

// The gradient of a block of logits, fused where a backend has it (else the ops it replaces run):
// out = (softmax(logits) - eps / V, then - (1 - eps) at each row's label) * row_scale, in f32 with the ops'
// arithmetic; logits f32 contiguous (rows, V), labels i64 contiguous (rows, 1) in [0, V), row_scale f32 contiguous
// (rows, 1), out f32 contiguous (rows, V).
inline OpTable<void(const Tensor& logits, const Tensor& labels, const Tensor& row_scale, double eps, const Tensor& out)>
    cross_entropy_grad_kernel("cross_entropy backward");

}  // namespace glint
