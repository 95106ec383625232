// CPU softmax: rows are widened into an f32 buffer, where max, sum of exponentials (pairwise) and the output
// pass run. When the softmax dim is the outer one in memory, tiles of neighbouring rows are gathered together so
// that memory is read and written in contiguous runs rather than one element per cache line.
#include "runtime/ops/softmax.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/cpu/reduce_rows.h"
#include "runtime/cpu/simd_clones.h"

namespace glint::cpu {
namespace {

constexpr int64_t kTile = 16;  // neighbouring rows gathered at once: a cache line of f32

template <class T>
GLINT_SIMD_CLONES void softmax_rows(const RowSet& in_rows, const RowSet& out_rows, const T* src, T* dst, bool log) {
  const int64_t len = in_rows.len, n = in_rows.count();
  const int64_t tile = in_rows.columnwise() ? kTile : 1, tiles = (n + tile - 1) / tile;
#pragma omp parallel if (n * len > 32768)
  {
    std::vector<float> buf(static_cast<size_t>(len * tile));
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t o0 = t * tile, w = std::min(tile, n - o0);
      if (tile == 1) {
        load_row(src + in_rows.offset(o0), len, in_rows.stride, buf.data());
        softmax_row(buf.data(), len, log);
        store_row(buf.data(), len, dst + out_rows.offset(o0), out_rows.stride);
        continue;
      }
      int64_t in_off[kTile], out_off[kTile];
      for (int64_t k = 0; k < w; ++k) in_off[k] = in_rows.offset(o0 + k), out_off[k] = out_rows.offset(o0 + k);
      for (int64_t r = 0; r < len; ++r)
        for (int64_t k = 0; k < w; ++k) buf[k * len + r] = to_float(src[in_off[k] + r * in_rows.stride]);
      for (int64_t k = 0; k < w; ++k) softmax_row(buf.data() + k * len, len, log);
      for (int64_t r = 0; r < len; ++r)
        for (int64_t k = 0; k < w; ++k) dst[out_off[k] + r * out_rows.stride] = from_float<T>(buf[k * len + r]);
    }
  }
}

void softmax_cpu(const Tensor& x, int dim, bool log, const Tensor& out) {
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_float_elem<T>) softmax_rows(RowSet(x, dim), RowSet(out, dim), ptr<T>(x), ptr<T>(out), log);
  });
}

const OpRegistration reg_softmax(softmax_kernel, DeviceKind::cpu, softmax_cpu);

}  // namespace
}  // namespace glint::cpu
