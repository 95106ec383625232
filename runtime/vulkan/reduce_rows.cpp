#include "runtime/vulkan/reduce_rows.h"

#include <algorithm>

#include "runtime/core/error.h"

namespace glint::vk {
namespace {

// Rows of at most this many elements get a thread each: a workgroup per row would leave most threads idle.
constexpr uint32_t kShortRow = 16;
// Rows per workgroup when the reduced dim is the outer one in memory: 32 neighbouring rows make a 128-byte read of
// f32 per step, with kRowGroupSize / 32 threads sharing each row.
constexpr uint32_t kColumnTile = 32;

constexpr uint32_t kMinSplitLen = 4096;
constexpr uint32_t kTargetGroups = 1024;

uint32_t choose_cols(uint32_t rows, uint32_t len, uint32_t stride) {
  if (len <= kShortRow && rows > 1) return kRowGroupSize;
  if (stride == 1 || rows < kColumnTile) return 1;
  return kColumnTile;
}

}  // namespace

uint32_t RowLayout::splits() const {
  if (cols != 1) return 1;
  return std::max(1u, std::min(len / kMinSplitLen, kTargetGroups / std::max(rows, 1u)));
}

RowLayout row_layout(const Tensor& x, int dim, const char* op) {
  Shape shape, strides;
  uint64_t last = 0;  // offset of the farthest element
  for (int d = 0; d < x.ndim(); ++d) {
    if (x.numel() > 0) last += uint64_t(x.shape()[d] - 1) * uint64_t(x.strides()[d]);
    if (d == dim) continue;
    shape.push_back(x.shape()[d]);
    strides.push_back(x.strides()[d]);
  }
  GLINT_CHECK(x.numel() < (int64_t(1) << 32) && last < (uint64_t(1) << 32), op, "tensor ", x.str(),
              " is too large for 32-bit element offsets");
  RowLayout l;
  l.rows = uint32_t(numel_of(shape));
  l.len = uint32_t(x.shape()[dim]);
  l.stride = uint32_t(x.strides()[dim]);
  l.cols = choose_cols(l.rows, l.len, l.stride);
  l.shape = pack_dims(shape, 1);
  l.strides = pack_dims(strides, 0);
  return l;
}

RowLayout single_row(uint32_t len, uint32_t stride) {
  RowLayout l;
  l.len = len;
  l.stride = stride;
  l.shape = pack_dims({}, 1);
  l.strides = pack_dims({}, 0);
  return l;
}

RowLayout contiguous_rows(uint32_t rows, uint32_t len) {
  RowLayout l;
  l.rows = rows;
  l.len = len;
  l.stride = 1;
  l.cols = choose_cols(rows, len, 1);
  l.shape = pack_dims({int64_t(rows)}, 1);
  l.strides = pack_dims({int64_t(len)}, 0);
  return l;
}

Grid row_grid(uint64_t groups) { return grid_1d(groups * kRowGroupSize, kRowGroupSize); }

}  // namespace glint::vk
