// Turning tokenised rows into training batches: transformers' group_texts packing of a token stream into fixed
// blocks, right-padded collation with -100 labels under padding, and a data order that depends only on the seed
// and the epoch (so a resumed run sees exactly the batches the interrupted one would have).
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/core/tensor.h"
#include "trainers/datasets/tokenized.h"

namespace glint::train {

using datasets::TokenizedRow;

// A causal-LM batch on the CPU: input_ids and labels (B, T) i64 (labels -100 where no loss is taken),
// attention_mask (B, T) i64 (1 real, 0 padding).
// Packed rows (with positions) get position_ids and an additive f32 (B, 1, T, T) attention_mask instead: causal
// within each example, -inf across examples and onto padding.
struct Batch {
  Tensor input_ids, labels, attention_mask, position_ids;
  int64_t tokens = 0;   // real (unpadded) tokens
  int64_t targets = 0;  // labels that take loss after the causal shift (labels[:, 1:] != -100)
};

// Every row's ids joined (each followed by `eos` when eos >= 0) and cut into blocks of `block` tokens; the tail that
// does not fill a block is dropped (transformers' run_clm group_texts). Labels are the ids.
std::vector<TokenizedRow> pack_rows(const std::vector<TokenizedRow>& rows, int64_t block, int64_t eos);

// Whole examples packed into rows of at most `block` tokens, in order (a new row when the next example does not
// fit; longer examples are truncated to `block`), TRL's packing without attention across examples: positions
// restart at each example, and each example's first label is -100 so no token is predicted from the one before it.
std::vector<TokenizedRow> pack_examples(const std::vector<TokenizedRow>& rows, int64_t block);

// The rows of a TokenizedDataset as owned rows.
std::vector<TokenizedRow> rows_of(const datasets::TokenizedDataset& ds);

// Rows stacked and right-padded to the longest with `pad_id`; labels are the row's labels or its ids.
Batch collate(const std::vector<const TokenizedRow*>& rows, int64_t pad_id);

// The order of rows in `epoch`: a permutation seeded by (seed, epoch), identical on every platform.
std::vector<size_t> epoch_order(size_t rows, uint64_t seed, int64_t epoch);

}  // namespace glint::train
