// CPU reductions. A row whose elements are closer in memory than neighbouring rows is reduced on its own
// (pairwise sums); otherwise tiles of neighbouring rows are reduced together, streaming memory in order, with one
// Kahan-compensated accumulator per row. Float inputs accumulate in f32, integers in i64.
#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/cpu/reduce_rows.h"
#include "runtime/ops/reduce.h"

namespace glint::cpu {
namespace {

template <class T>
using Acc = std::conditional_t<is_float_elem<T>, float, int64_t>;

template <class T>
Acc<T> load(const T* p, int64_t i) {
  if constexpr (is_float_elem<T>) return to_float(p[i]);
  else return static_cast<int64_t>(p[i]);
}

template <class A>
bool is_nan(A v) {
  if constexpr (std::is_floating_point_v<A>) return std::isnan(v);
  else return false;
}

// Whether a replaces the running best b: strictly better, or a NaN (NaN wins, as in torch). Ties keep b, the
// earlier element, which is what argmax's "first index" needs.
template <class A>
bool beats(ReduceOp op, A a, A b) {
  if (is_nan(b)) return false;
  if (is_nan(a)) return true;
  return op == ReduceOp::min ? a < b : a > b;
}

int64_t wrap_add(int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); }  // i64 sums wrap, as in torch

// Writes result v of row o: argmax and integer sums are i64, everything else has the input's dtype.
template <class T>
struct Output {
  std::byte* base;
  ReduceOp op;
  void put(int64_t o, Acc<T> v) const {
    if constexpr (is_float_elem<T>) reinterpret_cast<T*>(base)[o] = from_float<T>(v);
    else if (op == ReduceOp::sum) reinterpret_cast<int64_t*>(base)[o] = v;
    else reinterpret_cast<T*>(base)[o] = static_cast<T>(v);
  }
  void put_index(int64_t o, int64_t i) const { reinterpret_cast<int64_t*>(base)[o] = i; }
};

// One row on its own: `at(i)` loads element i (0 <= i < len).
template <class T, class At>
void reduce_one_row(int64_t len, const At& at, ReduceOp op, float divisor, const Output<T>& out, int64_t o) {
  if (op == ReduceOp::max || op == ReduceOp::min || op == ReduceOp::argmax) {
    Acc<T> best = at(0);
    int64_t best_i = 0;
    for (int64_t i = 1; i < len; ++i) {
      Acc<T> v = at(i);
      if (beats(op == ReduceOp::argmax ? ReduceOp::max : op, v, best)) best = v, best_i = i;
    }
    if (op == ReduceOp::argmax) out.put_index(o, best_i);
    else out.put(o, best);
    return;
  }
  if constexpr (is_float_elem<T>) {
    float s = pairwise_sum(0, len, at);
    if (op == ReduceOp::var) {
      float m = s / float(len);
      s = pairwise_sum(0, len, [&](int64_t i) {
        float d = at(i) - m;
        return d * d;
      });
    }
    out.put(o, op == ReduceOp::sum ? s : s / divisor);
  } else {
    int64_t s = 0;
    for (int64_t i = 0; i < len; ++i) s = wrap_add(s, at(i));
    out.put(o, s);
  }
}

// Rows [o0, o0 + w) side by side: `at(r, k)` loads element r of row o0 + k. Memory is read row-of-the-tile by
// row-of-the-tile, which is contiguous when the rows are neighbouring columns.
constexpr int64_t kTile = 64;

template <class T, class At>
void reduce_row_tile(int64_t len, int64_t w, const At& at, ReduceOp op, float divisor, const Output<T>& out,
                     int64_t o0) {
  if (op == ReduceOp::max || op == ReduceOp::min || op == ReduceOp::argmax) {
    const ReduceOp cmp = op == ReduceOp::argmax ? ReduceOp::max : op;
    Acc<T> best[kTile];
    int64_t best_i[kTile] = {};
    for (int64_t k = 0; k < w; ++k) best[k] = at(0, k);
    for (int64_t r = 1; r < len; ++r)
      for (int64_t k = 0; k < w; ++k) {
        Acc<T> v = at(r, k);
        if (beats(cmp, v, best[k])) best[k] = v, best_i[k] = r;
      }
    for (int64_t k = 0; k < w; ++k) {
      if (op == ReduceOp::argmax) out.put_index(o0 + k, best_i[k]);
      else out.put(o0 + k, best[k]);
    }
    return;
  }
  if constexpr (is_float_elem<T>) {
    KahanSum acc[kTile];
    for (int64_t r = 0; r < len; ++r)
      for (int64_t k = 0; k < w; ++k) acc[k].add(at(r, k));
    if (op == ReduceOp::var) {
      float m[kTile];
      for (int64_t k = 0; k < w; ++k) m[k] = acc[k].sum / float(len), acc[k] = {};
      for (int64_t r = 0; r < len; ++r)
        for (int64_t k = 0; k < w; ++k) {
          float d = at(r, k) - m[k];
          acc[k].add(d * d);
        }
    }
    for (int64_t k = 0; k < w; ++k) out.put(o0 + k, op == ReduceOp::sum ? acc[k].sum : acc[k].sum / divisor);
  } else {
    int64_t acc[kTile] = {};
    for (int64_t r = 0; r < len; ++r)
      for (int64_t k = 0; k < w; ++k) acc[k] = wrap_add(acc[k], at(r, k));
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
      for (int64_t o = 0; o < n; ++o) {
        const T* row = p + rows.offset(o);
        reduce_one_row<T>(len, [&](int64_t i) { return load(row, i * stride); }, op, divisor, dst, o);
      }
      return;
    }
    const int64_t inner = rows.shape.back(), inner_stride = rows.strides.back();
    const int64_t tiles = (inner + kTile - 1) / kTile, items = rows.count() / inner * tiles;
#pragma omp parallel for schedule(static) if (rows.count() * len > 32768)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t o0 = it / tiles * inner + it % tiles * kTile, w = std::min(kTile, inner - it % tiles * kTile);
      const T* base = p + rows.offset(o0);
      reduce_row_tile<T>(len, w, [&](int64_t r, int64_t k) { return load(base, r * stride + k * inner_stride); }, op,
                         divisor, dst, o0);
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
      auto at = [&](int64_t i) { return load(row, i * stride); };
      if constexpr (is_float_elem<T>) {
        partial[it] = pairwise_sum(begin, count, at);
      } else {
        int64_t s = 0;
        for (int64_t i = begin; i < begin + count; ++i) s = wrap_add(s, at(i));
        partial[it] = s;
      }
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
