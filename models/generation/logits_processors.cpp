#include "models/generation/logits_processors.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <span>

#include "runtime/core/error.h"

namespace glint {
namespace {

constexpr float kRemoved = -std::numeric_limits<float>::infinity();

// The rows of scores (B, V) as host spans.
std::vector<std::span<float>> rows_of(Tensor& scores, const char* op) {
  GLINT_CHECK(scores.ndim() == 2 && scores.dtype() == DType::f32 && scores.device().is_cpu() && scores.is_contiguous(),
              op, "scores must be (B, V) f32 contiguous on the CPU, got ", scores.str());
  std::vector<std::span<float>> rows;
  const int64_t v = scores.dim(1);
  for (int64_t b = 0; b < scores.dim(0); ++b) rows.emplace_back(scores.data<float>() + b * v, size_t(v));
  return rows;
}

// softmax(row) in f32 as torch computes it: exp(x - max) / sum.
std::vector<float> softmax_of(std::span<const float> row) {
  const float mx = *std::max_element(row.begin(), row.end());
  std::vector<float> p(row.size());
  float sum = 0;
  for (size_t i = 0; i < row.size(); ++i) sum += p[i] = std::exp(row[i] - mx);
  for (float& x : p) x /= sum;
  return p;
}

}  // namespace

void apply_repetition_penalty(Tensor& scores, const std::vector<std::vector<int64_t>>& seen, double penalty) {
  GLINT_CHECK(penalty > 0, "repetition_penalty", "penalty must be > 0, got ", penalty);
  auto rows = rows_of(scores, "repetition_penalty");
  GLINT_CHECK(seen.size() == rows.size(), "repetition_penalty", seen.size(), " token lists for ", rows.size(), " rows");
  if (penalty == 1) return;
  const auto p = float(penalty);
  for (size_t b = 0; b < rows.size(); ++b) {
    // transformers gathers every seen token's logit first and scatters back, so a repeated token is penalised once.
    std::vector<int64_t> ids = seen[b];
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (int64_t id : ids) {
      GLINT_CHECK(id >= 0 && id < int64_t(rows[b].size()), "repetition_penalty", "token ", id, " out of vocab");
      float& x = rows[b][size_t(id)];
      x = x < 0 ? x * p : x / p;
    }
  }
}

void apply_temperature(Tensor& scores, double temperature) {
  GLINT_CHECK(temperature > 0, "temperature", "must be > 0, got ", temperature);
  auto rows = rows_of(scores, "temperature");
  if (temperature == 1) return;
  const auto t = float(temperature);
  for (auto row : rows)
    for (float& x : row) x /= t;
}

void apply_top_k(Tensor& scores, int64_t top_k, int64_t min_tokens_to_keep) {
  GLINT_CHECK(top_k >= 0, "top_k", "must be >= 0, got ", top_k);
  auto rows = rows_of(scores, "top_k");
  if (top_k == 0 || rows.empty()) return;
  const auto k = size_t(std::min<int64_t>(std::max(top_k, min_tokens_to_keep), int64_t(rows[0].size())));
  for (auto row : rows) {
    std::vector<float> sorted(row.begin(), row.end());
    std::nth_element(sorted.begin(), sorted.begin() + ptrdiff_t(k - 1), sorted.end(), std::greater<>());
    const float kth = sorted[k - 1];
    for (float& x : row)
      if (x < kth) x = kRemoved;
  }
}

void apply_top_p(Tensor& scores, double top_p, int64_t min_tokens_to_keep) {
  GLINT_CHECK(top_p > 0 && top_p <= 1, "top_p", "must be in (0, 1], got ", top_p);
  auto rows = rows_of(scores, "top_p");
  if (top_p == 1) return;
  // transformers compares the f32 cumulative probabilities with the scalar 1 - top_p promoted to f32.
  const auto threshold = float(1 - top_p);
  for (auto row : rows) {
    // Ascending order: the tokens removed are a prefix, the most likely min_tokens_to_keep are the suffix.
    std::vector<int64_t> order(row.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return row[size_t(a)] < row[size_t(b)]; });
    std::vector<float> sorted(row.size());
    for (size_t i = 0; i < order.size(); ++i) sorted[i] = row[size_t(order[i])];
    const std::vector<float> probs = softmax_of(sorted);
    const size_t removable = row.size() - size_t(std::min<int64_t>(min_tokens_to_keep, int64_t(row.size())));
    double cumulative = 0;
    for (size_t i = 0; i < removable; ++i) {
      cumulative += probs[i];
      if (float(cumulative) > threshold) break;
      row[size_t(order[i])] = kRemoved;
    }
  }
}

void apply_min_p(Tensor& scores, double min_p, int64_t min_tokens_to_keep) {
  GLINT_CHECK(min_p >= 0 && min_p <= 1, "min_p", "must be in [0, 1], got ", min_p);
  auto rows = rows_of(scores, "min_p");
  if (min_p == 0) return;
  for (auto row : rows) {
    const std::vector<float> probs = softmax_of(row);
    const float bound = float(min_p) * *std::max_element(probs.begin(), probs.end());
    // The min_tokens_to_keep most likely tokens survive whatever their probability.
    std::vector<int64_t> order(row.size());
    std::iota(order.begin(), order.end(), 0);
    const auto keep = size_t(std::min<int64_t>(min_tokens_to_keep, int64_t(row.size())));
    std::partial_sort(order.begin(), order.begin() + ptrdiff_t(keep), order.end(),
                      [&](int64_t a, int64_t b) { return row[size_t(a)] > row[size_t(b)]; });
    std::vector<bool> kept(row.size(), false);
    for (size_t i = 0; i < keep; ++i) kept[size_t(order[i])] = true;
    for (size_t i = 0; i < row.size(); ++i)
      if (probs[i] < bound && !kept[i]) row[i] = kRemoved;
  }
}

void apply_warpers(Tensor& scores, const SamplingWarpers& w) {
  apply_temperature(scores, w.temperature);
  apply_top_k(scores, w.top_k);
  apply_top_p(scores, w.top_p);
  apply_min_p(scores, w.min_p);
}

}  // namespace glint
