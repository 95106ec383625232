// CPU copy (strided, with dtype conversion) and fill.
#include <algorithm>

#include "runtime/cpu/elem.h"
#include "runtime/ops/copy.h"

namespace glint::cpu {
namespace {

void copy_cpu(const Tensor& src, const Tensor& dst) {
  visit_dtype(src.dtype(), [&]<class S>() {
    visit_dtype(dst.dtype(), [&]<class D>() {
      const S* s = ptr<S>(src);
      D* d = ptr<D>(dst);
      for_each_strided<2>(dst.shape(), {src.strides(), dst.strides()}, [&](const std::array<int64_t, 2>& o) {
        if constexpr (std::is_same_v<S, D>) d[o[1]] = s[o[0]];
        else if constexpr (is_float_elem<D>) d[o[1]] = from_float<D>(to_float(s[o[0]]));
        else d[o[1]] = from_i64<D>(to_i64(s[o[0]]));
      });
    });
  });
}

void fill_cpu(const Tensor& dst, double value) {
  visit_dtype(dst.dtype(), [&]<class D>() {
    D v;
    if constexpr (is_float_elem<D>) v = from_float<D>(float(value));
    else v = static_cast<D>(value);
    std::fill_n(ptr<D>(dst), dst.numel(), v);
  });
}

const OpRegistration reg_copy(copy_kernel, DeviceKind::cpu, copy_cpu);
const OpRegistration reg_fill(fill_kernel, DeviceKind::cpu, fill_cpu);

}  // namespace
}  // namespace glint::cpu
