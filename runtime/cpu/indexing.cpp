// CPU gather (embedding / index_select / gather), scatter_add and topk.
#include "runtime/ops/indexing.h"

#include <algorithm>
#include <vector>

#include "runtime/cpu/elem.h"

namespace glint::cpu {
namespace {

// Gathering moves bits, so elements are handled by size: one instantiation per width, not per dtype.
template <class F>
void visit_width(DType dt, F&& f) {
  switch (dtype_size(dt)) {
    case 1:
      return f.template operator()<uint8_t>();
    case 2:
      return f.template operator()<uint16_t>();
    case 4:
      return f.template operator()<uint32_t>();
    default:
      return f.template operator()<uint64_t>();
  }
}

template <class F>
void visit_index(DType dt, F&& f) {
  if (dt == DType::i32)
    f.template operator()<int32_t>();
  else
    f.template operator()<int64_t>();
}

// Element offsets of the i-th position (row-major) of `shape` in N operands with the given strides.
template <size_t N>
std::array<int64_t, N> offsets_of(int64_t i, const Shape& shape, const std::array<Shape, N>& strides) {
  std::array<int64_t, N> off{};
  for (int d = int(shape.size()) - 1; d >= 0; --d) {
    const int64_t c = i % shape[d];
    i /= shape[d];
    for (size_t k = 0; k < N; ++k) off[k] += c * strides[k][d];
  }
  return off;
}

// Last-dim view of a (possibly 0-d) shape: gather runs threads over the rows of the outer dims and walks each row by
// hand, so that a row whose index is constant (embedding, index_select off the last dim) becomes a plain copy.
struct Split {
  Shape outer;
  std::array<Shape, 3> outer_strides;
  int64_t n;
  std::array<int64_t, 3> inner_stride;
};
Split split_last(const Shape& shape, const std::array<Shape, 3>& strides) {
  if (shape.empty()) return {{}, {}, 1, {0, 0, 0}};
  Split s{Shape(shape.begin(), shape.end() - 1), {}, shape.back(), {}};
  for (int k = 0; k < 3; ++k) {
    s.outer_strides[k].assign(strides[k].begin(), strides[k].end() - 1);
    s.inner_stride[k] = strides[k].back();
  }
  return s;
}

void gather_cpu(const Tensor& base, const Tensor& idx, const Tensor& out, int64_t stride, int64_t bound) {
  const Split s = split_last(out.shape(), {base.strides(), idx.strides(), out.strides()});
  const int64_t bs = s.inner_stride[0], is = s.inner_stride[1], os = s.inner_stride[2];
  visit_width(out.dtype(), [&]<class T>() {
    visit_index(idx.dtype(), [&]<class I>() {
      const T* b = ptr<T>(base);
      const I* ix = ptr<I>(idx);
      T* o = ptr<T>(out);
      const int64_t rows = numel_of(s.outer);
#pragma omp parallel for schedule(static) if (rows > 1 && rows * s.n > 32768)
      for (int64_t r = 0; r < rows; ++r) {
        const auto off = offsets_of<3>(r, s.outer, s.outer_strides);
        const T* src = b + off[0];
        const I* ip = ix + off[1];
        T* dst = o + off[2];
        if (is == 0) {  // one index for the whole row
          const int64_t t = ip[0];
          if (t < 0 || t >= bound) {
            for (int64_t i = 0; i < s.n; ++i) dst[i * os] = T{0};
          } else {
            const T* row = src + t * stride;
            if (bs == 1 && os == 1)
              std::copy_n(row, s.n, dst);
            else
              for (int64_t i = 0; i < s.n; ++i) dst[i * os] = row[i * bs];
          }
          continue;
        }
        for (int64_t i = 0; i < s.n; ++i) {
          const int64_t t = ip[i * is];
          dst[i * os] = t < 0 || t >= bound ? T{0} : src[i * bs + t * stride];
        }
      }
    });
  });
}

// Tasks are (fiber of the dims other than dim and the last, block of last-dim columns). A task's updates land in acc
// elements no other task touches, so tasks never race, and each applies its updates in index order, so the result is
// deterministic. Each index walks a run of columns: sequential memory for the common dim-0 case (embedding backward).
void scatter_add_cpu(const Tensor& acc, int dim, const Tensor& idx, const Tensor& src) {
  constexpr int64_t kBlock = 256;
  const int nd = idx.ndim();
  const int64_t n = idx.shape()[dim], size = acc.shape()[dim];
  const int64_t is = idx.strides()[dim], ss = src.strides()[dim], as = acc.strides()[dim];
  Shape outer = without_dim(idx.shape(), dim);
  std::array<Shape, 3> outer_strides{without_dim(idx.strides(), dim), without_dim(src.strides(), dim),
                                     without_dim(acc.strides(), dim)};
  int64_t cols = 1;
  std::array<int64_t, 3> cs{0, 0, 0};
  if (dim != nd - 1) {
    cols = outer.back();
    outer.pop_back();
    for (int k = 0; k < 3; ++k) {
      cs[k] = outer_strides[k].back();
      outer_strides[k].pop_back();
    }
  }
  const int64_t blocks = (cols + kBlock - 1) / kBlock, tasks = numel_of(outer) * blocks;
  visit_dtype(src.dtype(), [&]<class S>() {
    if constexpr (is_float_elem<S> || std::is_same_v<S, int32_t>) {
      using A = std::conditional_t<is_float_elem<S>, float, int32_t>;
      A* a = ptr<A>(acc);
      const S* sp = ptr<S>(src);
      visit_index(idx.dtype(), [&]<class I>() {
        const I* ip = ptr<I>(idx);
#pragma omp parallel for schedule(static) if (tasks > 1 && idx.numel() > 32768)
        for (int64_t task = 0; task < tasks; ++task) {
          const auto off = offsets_of<3>(task / blocks, outer, outer_strides);
          const int64_t c0 = task % blocks * kBlock, c1 = std::min(cols, c0 + kBlock);
          for (int64_t j = 0; j < n; ++j) {
            for (int64_t c = c0; c < c1; ++c) {
              const int64_t t = ip[off[0] + j * is + c * cs[0]];
              if (t < 0 || t >= size) continue;
              A& dst = a[off[2] + t * as + c * cs[2]];
              if constexpr (is_float_elem<S>)
                dst += to_float(sp[off[1] + j * ss + c * cs[1]]);
              else
                dst += sp[off[1] + j * ss + c * cs[1]];
            }
          }
        }
      });
    } else {
      fail("scatter_add", "no CPU kernel for ", dtype_name(src.dtype()));
    }
  });
}

// A 64-bit key whose descending order is topk's order: the value mapped to an order-preserving uint32 (NaN above
// +inf, -0 == +0, inverted for smallest-k) above the bit-inverted index (lower index first among equal values).
// kernels/topk.comp uses the same key.
uint64_t topk_key(float v, uint32_t j, bool largest) {
  uint32_t u = std::bit_cast<uint32_t>(v);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    u = 0xffffffffu;
  else
    u = v == 0.f ? 0x80000000u : (u & 0x80000000u) ? ~u : u | 0x80000000u;
  if (!largest) u = ~u;
  return uint64_t(u) << 32 | uint32_t(~j);
}

void topk_cpu(const Tensor& x, int dim, int64_t k, bool largest, const Tensor& values, const Tensor& indices) {
  const int64_t n = x.shape()[dim], xs = x.strides()[dim], vs = values.strides()[dim];
  const Shape outer = without_dim(x.shape(), dim), outer_strides = without_dim(x.strides(), dim),
              out_strides = without_dim(values.strides(), dim);
  const int64_t rows = numel_of(outer);
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) {
      const T* xp = ptr<T>(x);
      T* vp = ptr<T>(values);
      int64_t* ip = ptr<int64_t>(indices);
#pragma omp parallel if (rows > 1 && rows * n > 32768)
      {
        std::vector<uint64_t> keys(static_cast<size_t>(n));
#pragma omp for schedule(dynamic, 1)
        for (int64_t r = 0; r < rows; ++r) {
          const auto [xo, oo] = offsets_of<2>(r, outer, {outer_strides, out_strides});
          for (int64_t j = 0; j < n; ++j) keys[j] = topk_key(to_float(xp[xo + j * xs]), uint32_t(j), largest);
          std::nth_element(keys.begin(), keys.begin() + (k - 1), keys.end(), std::greater<>());
          std::sort(keys.begin(), keys.begin() + k, std::greater<>());
          for (int64_t i = 0; i < k; ++i) {
            const int64_t j = ~uint32_t(keys[i]);
            vp[oo + i * vs] = xp[xo + j * xs];
            ip[oo + i * vs] = j;
          }
        }
      }
    } else {
      fail("topk", "no CPU kernel for ", dtype_name(x.dtype()));
    }
  });
}

const OpRegistration reg_gather(gather_kernel, DeviceKind::cpu, gather_cpu);
const OpRegistration reg_scatter_add(scatter_add_kernel, DeviceKind::cpu, scatter_add_cpu);
const OpRegistration reg_topk(topk_kernel, DeviceKind::cpu, topk_cpu);

}  // namespace
}  // namespace glint::cpu
