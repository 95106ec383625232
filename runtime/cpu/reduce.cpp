// CPU reductions. A row whose elements are closer in memory than neighbouring rows is reduced on its own
// (pairwise sums); otherwise tiles of neighbouring rows are reduced together, streaming memory in order, with one
// Kahan-compensated accumulator per row. Float inputs accumulate in f32, integers in i64.
#include "runtime/ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/cpu/reduce_rows.h"

namespace glint::cpu {
namespace {

template <class T>
using Acc = std::conditional_t<is_float_elem<T>, float, int64_t>;

template <class T>
Acc<T> widen(T v) {
  if constexpr (is_float_elem<T>)
    return to_float(v);
  else
    return static_cast<int64_t>(v);
}

template <class A>
bool is_nan(A v) {
  if constexpr (std::is_floating_point_v<A>)
    return std::isnan(v);
  else
    return false;
}

int64_t wrap_add(int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); }  // i64 sums wrap, as in torch

// Writes result v of row o: argmax and integer sums are i64, everything else has the input's dtype.
template <class T>
struct Output {
  std::byte* base;
  ReduceOp op;
  void put(int64_t o, Acc<T> v) const {
    if constexpr (is_float_elem<T>)
      reinterpret_cast<T*>(base)[o] = from_float<T>(v);
    else if (op == ReduceOp::sum)
      reinterpret_cast<int64_t*>(base)[o] = v;
    else
      reinterpret_cast<T*>(base)[o] = static_cast<T>(v);
  }
  void put_index(int64_t o, int64_t i) const { reinterpret_cast<int64_t*>(base)[o] = i; }
};

// One row on its own: `at(i)` is element i (0 <= i < len). The extremum scan is branch-free (NaN noted on the
// side) so that it vectorises; argmax then looks for the first element equal to it (or the first NaN).
template <class T, class At>
void reduce_one_row(int64_t len, const At& at, ReduceOp op, float divisor, const Output<T>& out, int64_t o) {
  if (op == ReduceOp::max || op == ReduceOp::min || op == ReduceOp::argmax) {
    Acc<T> best = widen(at(0));
    bool nan = false;
    for (int64_t i = 1; i < len; ++i) {
      Acc<T> v = widen(at(i));
      nan |= is_nan(v);
      best = (op == ReduceOp::min ? v < best : v > best) ? v : best;
    }
    if (op != ReduceOp::argmax) {
      if constexpr (is_float_elem<T>) best = nan ? NAN : best;
      return out.put(o, best);
    }
    int64_t i = 0;
    while (nan ? !is_nan(widen(at(i))) : widen(at(i)) != best) ++i;
    return out.put_index(o, i);
  }
  if constexpr (is_float_elem<T>) {
    float s = pairwise_sum(0, len, [&](int64_t i) { return to_float(at(i)); });
    if (op == ReduceOp::var) {
      const float m = s / float(len);
      s = pairwise_sum(0, len, [&](int64_t i) {
        float d = to_float(at(i)) - m;
        return d * d;
      });
    }
    out.put(o, op == ReduceOp::sum ? s : s / divisor);
  } else {
    int64_t s = 0;
    for (int64_t i = 0; i < len; ++i) s = wrap_add(s, widen(at(i)));
    out.put(o, s);
  }
}

// Rows [o0, o0 + w) side by side: `at(r, k)` is element r of row o0 + k. Memory is read one tile-wide slice at a
// time, contiguous when the rows are neighbouring columns; per-row state lives in arrays indexed by k so that the
// k loops vectorise.
constexpr int64_t kTile = 64;

template <class T, class At>
void reduce_row_tile(int64_t len, int64_t w, const At& at, ReduceOp op, float divisor, const Output<T>& out,
                     int64_t o0) {
  if (op == ReduceOp::max || op == ReduceOp::min || op == ReduceOp::argmax) {
    const bool lower = op == ReduceOp::min;
    Acc<T> best[kTile];
    int64_t best_i[kTile] = {};
    for (int64_t k = 0; k < w; ++k) best[k] = widen(at(0, k));
    for (int64_t r = 1; r < len; ++r)
      for (int64_t k = 0; k < w; ++k) {
        Acc<T> v = widen(at(r, k));
        // NaN wins and stays (a NaN best is never replaced); ties keep the earlier row.
        const bool wins = !is_nan(best[k]) && (is_nan(v) || (lower ? v < best[k] : v > best[k]));
        best[k] = wins ? v : best[k];
        best_i[k] = wins ? r : best_i[k];
      }
    for (int64_t k = 0; k < w; ++k) {
      if (op == ReduceOp::argmax)
        out.put_index(o0 + k, best_i[k]);
      else
        out.put(o0 + k, best[k]);
    }
    return;
  }
  if constexpr (is_float_elem<T>) {
    float sum[kTile] = {}, comp[kTile] = {};
    for (int64_t r = 0; r < len; ++r)
      for (int64_t k = 0; k < w; ++k) kahan_add(sum[k], comp[k], to_float(at(r, k)));
    if (op == ReduceOp::var) {
      float m[kTile];
      for (int64_t k = 0; k < w; ++k) m[k] = sum[k] / float(len), sum[k] = comp[k] = 0;
      for (int64_t r = 0; r < len; ++r)
        for (int64_t k = 0; k < w; ++k) {
          float d = to_float(at(r, k)) - m[k];
          kahan_add(sum[k], comp[k], d * d);
        }
    }
    for (int64_t k = 0; k < w; ++k) out.put(o0 + k, op == ReduceOp::sum ? sum[k] : sum[k] / divisor);
  } else {
    int64_t acc[kTile] = {};
    for (int64_t r = 0; r < len; ++r)
      for (int64_t k = 0; k < w; ++k) acc[k] = wrap_add(acc[k], widen(at(r, k)));
    for (int64_t k = 0; k < w; ++k) out.put(o0 + k, acc[k]);
  }
}

void reduce_cpu(const Tensor& x, int dim, ReduceOp op, int64_t correction, const Tensor& out) {
  const RowSet rows(x, dim);
  const int64_t len = rows.len, stride = rows.stride;
  const float divisor = op == ReduceOp::var ? float(std::max<int64_t>(0, len - correction)) : float(len);
  visit_dtype(x.dtype(), [&]<class T>() {
    const T* p = ptr<T>(x);
    const Output<T> dst{out.data<std::byte>(), op};
    if (!rows.columnwise()) {
      const int64_t n = rows.count();
#pragma omp parallel for schedule(static) if (n * len > 32768)
      for (int64_t o = 0; o < n; ++o)
        with_row(p + rows.offset(o), stride, [&](auto at) { reduce_one_row<T>(len, at, op, divisor, dst, o); });
      return;
    }
    const int64_t inner = rows.shape.back(), inner_stride = rows.strides.back();
    const int64_t tiles = (inner + kTile - 1) / kTile, items = rows.count() / inner * tiles;
#pragma omp parallel for schedule(static) if (rows.count() * len > 32768)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t o0 = it / tiles * inner + it % tiles * kTile, w = std::min(kTile, inner - it % tiles * kTile);
      const T* base = p + rows.offset(o0);
      // With neighbouring columns (inner_stride 1) each slice of the tile is contiguous: its own instantiation.
      if (inner_stride == 1)
        reduce_row_tile<T>(
            len, w, [&](int64_t r, int64_t k) { return base[r * stride + k]; }, op, divisor, dst, o0);
      else
        reduce_row_tile<T>(
            len, w, [&](int64_t r, int64_t k) { return base[r * stride + k * inner_stride]; }, op, divisor, dst, o0);
    }
  });
}

// Whole-tensor sum: rows along the innermost coalesced dim, long rows cut into chunks so that every thread has
// work; the partial sums are then added pairwise.
void sum_all_cpu(const Tensor& x, const Tensor& out) {
  Shape shape = x.shape();
  std::array<Shape, 1> strides{x.strides()};
  coalesce(shape, strides);
  const RowSet rows(Tensor(x.storage_ptr(), shape, strides[0], x.offset(), x.dtype()), int(shape.size()) - 1);
  const int64_t len = x.numel() ? rows.len : 0, stride = rows.stride, n = x.numel() ? rows.count() : 0;
  constexpr int64_t kChunk = 1 << 16;
  const int64_t chunks = n >= 64 ? 1 : std::max<int64_t>(1, (len + kChunk - 1) / kChunk);
  const int64_t chunk = (len + chunks - 1) / std::max<int64_t>(chunks, 1);
  visit_dtype(x.dtype(), [&]<class T>() {
    const T* p = ptr<T>(x);
    std::vector<Acc<T>> partial(size_t(n * chunks));
#pragma omp parallel for schedule(static) if (n * len > 32768)
    for (int64_t it = 0; it < n * chunks; ++it) {
      const T* row = p + rows.offset(it / chunks);
      const int64_t begin = it % chunks * chunk, count = std::min(len, begin + chunk) - begin;
      partial[it] = with_row(row, stride, [&](auto at) -> Acc<T> {
        if constexpr (is_float_elem<T>) {
          return pairwise_sum(begin, count, [&](int64_t i) { return to_float(at(i)); });
        } else {
          int64_t s = 0;
          for (int64_t i = begin; i < begin + count; ++i) s = wrap_add(s, widen(at(i)));
          return s;
        }
      });
    }
    const Output<T> dst{out.data<std::byte>(), ReduceOp::sum};
    if constexpr (is_float_elem<T>) {
      dst.put(0, pairwise_sum(0, int64_t(partial.size()), [&](int64_t i) { return partial[i]; }));
    } else {
      int64_t s = 0;
      for (int64_t v : partial) s = wrap_add(s, v);
      dst.put(0, s);
    }
  });
}

const OpRegistration reg_reduce(reduce_kernel, DeviceKind::cpu, reduce_cpu);
const OpRegistration reg_sum_all(sum_all_kernel, DeviceKind::cpu, sum_all_cpu);

}  // namespace
}  // namespace glint::cpu
