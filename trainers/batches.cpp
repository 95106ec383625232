#include "trainers/batches.h"

#include <algorithm>
#include <limits>

#include "runtime/core/error.h"
#include "trainers/datasets/random.h"

namespace glint::train {

std::vector<TokenizedRow> pack_rows(const std::vector<TokenizedRow>& rows, int64_t block, int64_t eos) {
  GLINT_CHECK(block > 1, "train", "the packing block must hold at least 2 tokens, got ", block);
  std::vector<TokenizedRow> out;
  TokenizedRow cur;
  auto push = [&](int32_t id) {
    cur.ids.push_back(id);
    if (int64_t(cur.ids.size()) == block) {
      cur.labels = cur.ids;
      out.push_back(std::move(cur));
      cur = {};
    }
  };
  for (const TokenizedRow& r : rows) {
    for (int32_t id : r.ids) push(id);
    if (eos >= 0) push(int32_t(eos));
  }
  return out;
}

std::vector<TokenizedRow> pack_examples(const std::vector<TokenizedRow>& rows, int64_t block) {
  GLINT_CHECK(block > 1, "train", "the packing block must hold at least 2 tokens, got ", block);
  std::vector<TokenizedRow> out;
  TokenizedRow cur;
  for (const TokenizedRow& r : rows) {
    const size_t n = std::min(r.ids.size(), size_t(block));
    if (n == 0) continue;
    if (cur.ids.size() + n > size_t(block)) out.push_back(std::move(cur)), cur = {};
    for (size_t j = 0; j < n; ++j) {
      cur.ids.push_back(r.ids[j]);
      cur.labels.push_back(j == 0 ? -100 : (r.labels.empty() ? r.ids[j] : r.labels[j]));
      cur.positions.push_back(int32_t(j));
    }
  }
  if (!cur.ids.empty()) out.push_back(std::move(cur));
  return out;
}

std::vector<TokenizedRow> rows_of(const datasets::TokenizedDataset& ds) {
  std::vector<TokenizedRow> rows(ds.num_rows());
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto ids = ds.ids(i), labels = ds.labels(i);
    rows[i].ids.assign(ids.begin(), ids.end());
    rows[i].labels.assign(labels.begin(), labels.end());
  }
  return rows;
}

Batch collate(const std::vector<const TokenizedRow*>& rows, int64_t pad_id) {
  GLINT_CHECK(!rows.empty(), "train", "an empty batch");
  size_t t = 0;
  for (const TokenizedRow* r : rows) t = std::max(t, r->ids.size());
  GLINT_CHECK(t >= 2, "train", "every batch needs a row of at least 2 tokens to predict one");
  const size_t b = rows.size();
  std::vector<int64_t> ids(b * t, pad_id), labels(b * t, -100), mask(b * t, 0);
  Batch batch;
  for (size_t i = 0; i < b; ++i) {
    const TokenizedRow& r = *rows[i];
    const std::vector<int32_t>& lab = r.labels.empty() ? r.ids : r.labels;
    GLINT_CHECK(lab.size() == r.ids.size(), "train", "row ", i, " has ", r.ids.size(), " ids but ", lab.size(),
                " labels");
    for (size_t j = 0; j < r.ids.size(); ++j) {
      ids[i * t + j] = r.ids[j];
      labels[i * t + j] = lab[j];
      mask[i * t + j] = 1;
      batch.targets += j > 0 && lab[j] != -100;
    }
    batch.tokens += int64_t(r.ids.size());
  }
  const Shape shape{int64_t(b), int64_t(t)};
  batch.input_ids = Tensor::from_vector(ids, shape, DType::i64, Device::cpu());
  batch.labels = Tensor::from_vector(labels, shape, DType::i64, Device::cpu());
  batch.attention_mask = Tensor::from_vector(mask, shape, DType::i64, Device::cpu());
  bool packed = false;
  for (const TokenizedRow* r : rows) packed |= !r->positions.empty();
  if (!packed) return batch;
  // Query i sees key j <= i of its own example: examples start where the position is 0.
  std::vector<int64_t> pos(b * t, 0);
  std::vector<float> additive(b * t * t, -std::numeric_limits<float>::infinity());
  for (size_t r = 0; r < b; ++r) {
    const TokenizedRow& row = *rows[r];
    GLINT_CHECK(row.positions.empty() || row.positions.size() == row.ids.size(), "train", "row ", r, " has ",
                row.ids.size(), " ids but ", row.positions.size(), " positions");
    size_t start = 0;
    for (size_t i = 0; i < row.ids.size(); ++i) {
      pos[r * t + i] = row.positions.empty() ? int64_t(i) : row.positions[i];
      if (pos[r * t + i] == 0) start = i;
      for (size_t j = start; j <= i; ++j) additive[(r * t + i) * t + j] = 0.0f;
    }
    // Padding queries attend to themselves only, so their (ignored) rows stay finite.
    for (size_t i = row.ids.size(); i < t; ++i) additive[(r * t + i) * t + i] = 0.0f;
  }
  batch.position_ids = Tensor::from_vector(pos, shape, DType::i64, Device::cpu());
  batch.attention_mask = Tensor::from_vector(additive, {int64_t(b), 1, int64_t(t), int64_t(t)}, DType::f32, Device::cpu());
  return batch;
}

std::vector<size_t> epoch_order(size_t rows, uint64_t seed, int64_t epoch) {
  return datasets::permutation(rows, seed * 0x9e3779b97f4a7c15ull + uint64_t(epoch));
}

}  // namespace glint::train
