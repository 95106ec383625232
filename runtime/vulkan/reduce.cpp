// Vulkan reductions (kernels/reduce.comp). Few long rows are cut into splits reduced to partials (f32 / i64 for
// sums, the input dtype for max / min) by a first dispatch and finished by a second, so that a single-row
// reduction still fills the GPU.
#include "runtime/ops/reduce.h"

#include <algorithm>
#include <cstddef>
#include <string>

#include "runtime/vulkan/reduce_rows.h"

namespace glint::vk {
namespace {

struct ReducePC {  // mirrors kernels/reduce.comp
  uint64_t x, dst;
  uint32_t rows, len, stride, splits, split_len;
  float divisor;
  uint32_t pad0, pad1;
  Dims8 shape, strides;
};
static_assert(sizeof(ReducePC) == 112 && offsetof(ReducePC, shape) == 48);

bool splittable(ReduceOp op) {
  return op == ReduceOp::sum || op == ReduceOp::mean || op == ReduceOp::max || op == ReduceOp::min;
}

// One dispatch: dst[row * splits + split] = op over that split of the row. The shader variant is named after the
// input dtype and the dtype of the values it writes (argmax writes i64 indices but compares input values).
void record(const Tensor& x, const RowLayout& l, ReduceOp op, float divisor, uint32_t splits, const Tensor& dst) {
  const DType value_dtype = op == ReduceOp::argmax ? x.dtype() : dst.dtype();
  ReducePC pc{address(x), address(dst), l.rows,   l.len, l.stride, splits, (l.len + splits - 1) / splits, divisor, 0,
              0,          l.shape,      l.strides};
  std::string name = "reduce_" + std::string(dtype_name(x.dtype())) + "_" + std::string(dtype_name(value_dtype));
  dispatch(name, pc, row_grid(uint64_t(l.groups()) * splits), {x}, {dst}, {uint32_t(op), l.cols});
}

// dst (contiguous, l.rows elements) = op over each row of x described by l.
void run(const Tensor& x, const RowLayout& l, ReduceOp op, float divisor, const Tensor& dst) {
  const uint32_t splits = splittable(op) ? l.splits() : 1;
  if (splits == 1) return record(x, l, op, divisor, 1, dst);
  const bool sums = op == ReduceOp::sum || op == ReduceOp::mean;
  const DType partial_dtype = !sums ? x.dtype() : is_floating(x.dtype()) ? DType::f32 : DType::i64;
  Tensor partial = Tensor::empty({int64_t(l.rows) * splits}, partial_dtype, x.device());
  record(x, l, sums ? ReduceOp::sum : op, 1.f, splits, partial);
  record(partial, contiguous_rows(l.rows, splits), op, divisor, 1, dst);
}

void reduce_vulkan(const Tensor& x, int dim, ReduceOp op, int64_t correction, const Tensor& out) {
  const RowLayout l = row_layout(x, dim, reduce_op_name(op));
  const int64_t len = x.shape()[dim];
  run(x, l, op, float(op == ReduceOp::var ? std::max<int64_t>(0, len - correction) : len), out);
}

// A sum does not care about element order, so the dims may be sorted by stride and merged wherever they tile
// memory; a tensor that merges into one dim (any contiguous or evenly strided one) is a single row. Otherwise the
// innermost dim is summed into f32 / i64 partials first.
void sum_all_vulkan(const Tensor& x, const Tensor& out) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size), largest stride first
  for (int d = 0; d < x.ndim(); ++d)
    if (x.shape()[d] != 1) dims.push_back({x.strides()[d], x.shape()[d]});
  std::sort(dims.begin(), dims.end(), std::greater<>());
  Shape shape, strides;
  for (auto [st, n] : dims) {
    if (!shape.empty() && strides.back() == st * n) {
      shape.back() *= n;
      strides.back() = st;
    } else {
      shape.push_back(n);
      strides.push_back(st);
    }
  }
  if (x.numel() == 0 || shape.size() <= 1) {
    const Tensor row = shape.empty() || x.numel() == 0 ? x.reshape({x.numel()})
                                                       : Tensor(x.storage_ptr(), shape, strides, x.offset(), x.dtype());
    return run(row, row_layout(row, 0, "sum_all"), ReduceOp::sum, 1.f, out);
  }
  const Tensor view(x.storage_ptr(), shape, strides, x.offset(), x.dtype());
  const int inner = int(shape.size()) - 1;
  Tensor partial =
      Tensor::empty({view.numel() / shape[inner]}, is_floating(x.dtype()) ? DType::f32 : DType::i64, x.device());
  run(view, row_layout(view, inner, "sum_all"), ReduceOp::sum, 1.f, partial);
  run(partial, row_layout(partial, 0, "sum_all"), ReduceOp::sum, 1.f, out);
}

const OpRegistration reg_reduce(reduce_kernel, DeviceKind::vulkan, reduce_vulkan);
const OpRegistration reg_sum_all(sum_all_kernel, DeviceKind::vulkan, sum_all_vulkan);

}  // namespace
}  // namespace glint::vk
