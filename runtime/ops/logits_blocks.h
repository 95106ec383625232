// What the vocabulary-sized ops (cross_entropy / linear_cross_entropy in loss.h, token_logprobs in
// sequence_logprobs.h) share: logits produced a block of rows at a time — from a logits tensor, or from hidden states
// times an LM head — so a large vocabulary's f32 logits never exist for every row at once, in the forward or in the
// backward, which recomputes each block. When one block holds every row, the forward keeps a head's logits for the
// backward instead, which saves recomputing the N x C x V product.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/core/tensor.h"

namespace glint {

struct LogitsSource {
  Tensor logits;          // (N, V), or undefined
  Tensor hidden, weight;  // (N, C) and (V, C) when logits is undefined
  Tensor kept;            // f32 (N, V) head logits the forward kept (see forward_block), or undefined

  int64_t rows() const { return logits.defined() ? logits.dim(0) : hidden.dim(0); }
  int64_t vocab() const { return logits.defined() ? logits.dim(1) : weight.dim(0); }
  Device device() const { return logits.defined() ? logits.device() : hidden.device(); }
  // Rows [r0, r1) of the logits in f32.
  Tensor block(int64_t r0, int64_t r1) const;
  // block(r0, r1) for the forward: kept for the backward when `keep` and it is a head's logits for every row.
  Tensor forward_block(int64_t r0, int64_t r1, bool keep);
};

// "[op] ..." unless logits is a floating (N, V) tensor.
void check_logits(const char* op, const Tensor& logits);
// "[op] ..." unless hidden (N, C) and weight (V, C) share a device and a dtype.
void check_hidden_weight(const char* op, const Tensor& hidden, const Tensor& weight);
// "[op] ..." unless labels is an i32 / i64 vector of `rows`.
void check_labels(const char* op, const Tensor& labels, int64_t rows);

// Rows per block: `chunk_rows` when positive, else as many as keep a block's f32 logits near 64 MiB.
int64_t block_rows(int64_t chunk_rows, int64_t vocab);

// Labels made safe to gather: ignored rows point at class 0. An out-of-range label is an "[op] ..." error.
struct BlockTargets {
  Tensor labels;  // (N, 1) i64 on the device
  Tensor valid;   // (N, 1) f32: 1 for rows that count, 0 for ignored ones
  int64_t count = 0;
};
BlockTargets block_targets(const char* op, const Tensor& labels, int64_t vocab, int64_t ignore_index, Device device);

// The gradient, for rows [r0, r1), of the op's output with respect to that block's f32 logits, given the output's
// gradient g.
using LogitsBlockGrad = std::function<Tensor(const Tensor& block_logits, int64_t r0, int64_t r1, const Tensor& g)>;

// Records on `out` (a function of the source's logits) a backward that recomputes each block's logits and turns
// d_block's logits gradient into the gradients of the source's inputs: the logits, or the hidden states and the
// head. `inputs` are the op's inputs as recorded: {logits, labels} or {hidden, weight, labels}.
void record_blockwise(const char* op, Tensor& out, const std::vector<Tensor>& inputs, LogitsSource src, int64_t step,
                      LogitsBlockGrad d_block);

}  // namespace glint
