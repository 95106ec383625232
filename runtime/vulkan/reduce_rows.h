// Host side of kernels/common/reduce_rows.glsl, shared by the reduce, softmax and norm kernels: which rows a
// row-wise kernel walks, and how its workgroups share them (the COLS specialization constant).
#pragma once
#include <cstdint>

#include "runtime/core/tensor.h"
#include "runtime/vulkan/dispatch.h"

namespace glint::vk {

inline constexpr uint32_t kRowGroupSize = 256;  // WG in reduce_rows.glsl

struct RowLayout {
  uint32_t rows = 1;         // positions of the kept dims
  uint32_t len = 0;          // elements per row
  uint32_t stride = 0;       // element stride along a row
  uint32_t cols = 1;         // rows per workgroup (specialization constant 1)
  Dims8 shape{}, strides{};  // kept dims of the input: row index -> element offset of the row's start

  uint32_t groups() const { return (rows + cols - 1) / cols; }
  // Workgroups to share each row when there are too few rows to fill a GPU: splits of at least 4096 elements
  // (16 per thread), up to about 1024 workgroups in all; 1 for layouts with several rows per workgroup.
  uint32_t splits() const;
};

// The rows of x along `dim`; fails with "[op] ..." when x is too large for the kernels' 32-bit element offsets.
RowLayout row_layout(const Tensor& x, int dim, const char* op);
// One row of `len` elements `stride` apart (a tensor that coalesces to one dim).
RowLayout single_row(uint32_t len, uint32_t stride);
// `rows` contiguous rows of `len` elements each.
RowLayout contiguous_rows(uint32_t rows, uint32_t len);
// The grid of `groups` workgroups of kRowGroupSize threads (group_index() in the shader).
Grid row_grid(uint64_t groups);

}  // namespace glint::vk
