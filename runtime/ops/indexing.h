// Indexing and data movement: embedding lookup, concat, index_select, gather, scatter_add and topk.
//
// Index tensors (i32 or i64) may sit on the data's device or on the CPU. Indices on the CPU are range-checked by the
// op (an `[op] ... out of range` error) and then uploaded. Indices already on a Vulkan device are NOT checked: that
// would force a device-to-host sync in the middle of a recorded stream. There, kernels never touch memory out of
// bounds: an out-of-range index gathers zeros (embedding, index_select, gather) and its scatter_add update is
// dropped. Negative indices are out of range (as in torch.gather / index_select / embedding).
#pragma once
#include <utility>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/ops/registry.h"

namespace glint {

// Rows of weight (V, D; f32/f16/bf16) picked by ids (any shape, i32/i64): shape ids.shape + (D).
Tensor embedding(const Tensor& weight, const Tensor& ids);
// xs joined along dim (same dtype and device; shapes equal except along dim; zero-size inputs allowed).
Tensor concat(const std::vector<Tensor>& xs, int dim);
// x with dim restricted to the positions listed in idx (1-D, i32/i64), in that order (torch.index_select).
Tensor index_select(const Tensor& x, int dim, const Tensor& idx);
// out[p] = x[p with its dim coordinate replaced by idx[p]]; idx has x's ndim, out has idx's shape (torch.gather).
Tensor gather(const Tensor& x, int dim, const Tensor& idx);
// A copy of x where, for every position p of idx, src[p] is added at p with its dim coordinate replaced by idx[p]
// (torch.Tensor.scatter_add). f32/f16/bf16 accumulate in f32 and round once; i32 is exact.
Tensor scatter_add(const Tensor& x, int dim, const Tensor& idx, const Tensor& src);
// The k largest (or smallest) entries of x (f32/f16/bf16) along dim and their i64 positions, always sorted (best
// first) whatever `sorted` says. Equal values keep the lower index first; NaN counts as larger than +inf and -0 equals
// +0 (torch's order). The Vulkan kernel supports k <= kTopkMaxK.
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int dim = -1, bool largest = true, bool sorted = true);
inline constexpr int64_t kTopkMaxK = 1024;

// Kernel tables. The definitions have checked every argument; kernels receive same-device tensors.

// out (contiguous) [p] = the element idx[p] * stride elements past base[p], or 0 where idx[p] is outside [0, bound).
// base and idx are views with out's shape: base is the indexed tensor with stride 0 along the indexed dim (see
// indexed_base), idx may be broadcast (stride 0). base and out have the same dtype. Serves embedding, index_select
// and gather.
inline OpTable<void(const Tensor& base, const Tensor& idx, const Tensor& out, int64_t stride, int64_t bound)>
    gather_kernel("gather");
// For every position p of idx (contiguous): acc[p with its dim coordinate set to idx[p]] += src[p], skipping indices
// outside [0, acc.shape[dim]). acc is contiguous, f32 for floating src (f32/f16/bf16) and i32 for i32 src; src may be
// strided and larger than idx (only idx's extent is read).
inline OpTable<void(const Tensor& acc, int dim, const Tensor& idx, const Tensor& src)> scatter_add_kernel(
    "scatter_add");
// values (x's dtype) and indices (i64), both contiguous with x's shape but k along dim (0 < k <= x.shape[dim]):
// the top k of each row of x along dim, ordered as topk() documents.
inline OpTable<void(const Tensor& x, int dim, int64_t k, bool largest, const Tensor& values, const Tensor& indices)>
    topk_kernel("topk");

// A view of x with `shape` (x's ndim, sizes no larger than x's off dim) and stride 0 along dim: its element p is x at p
// with the dim coordinate 0, so p's indexed element lies idx * x.stride(dim) further on.
Tensor indexed_base(const Tensor& x, int dim, const Shape& shape);
// s without its entry for dim: the shape or strides of the rows' starting points in the per-row kernels.
inline Shape without_dim(Shape s, int dim) {
  s.erase(s.begin() + dim);
  return s;
}

}  // namespace glint
