// Definitions of the indexing ops: argument checks, output shapes, index range checks, then the kernel tables.
// embedding, index_select and gather are all one gather kernel over views (no index tensor is materialised);
// concat is strided copies into slices of its output (one copy dispatch per input, no extra kernel).
#include "runtime/ops/indexing.h"

#include <functional>
#include <optional>
#include <string_view>

#include "runtime/autograd/autocast.h"
#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"

namespace glint {
namespace {

int norm_dim(std::string_view op, int dim, int ndim) {
  int d = dim < 0 ? dim + ndim : dim;
  GLINT_CHECK(d >= 0 && d < ndim, op, "dimension ", dim, " out of range for ", ndim, "-d tensor");
  return d;
}

void check_same_device(std::string_view op, const Tensor& a, const Tensor& b) {
  GLINT_CHECK(a.device() == b.device(), op, "tensors on different devices: ", a.device().str(), " and ",
              b.device().str());
}

void check_index_dtype(std::string_view op, const Tensor& idx) {
  GLINT_CHECK(idx.dtype() == DType::i32 || idx.dtype() == DType::i64, op, "indices must be i32 or i64, got ",
              dtype_name(idx.dtype()));
}

// The first index outside [0, bound) in row-major order, if any (idx on the CPU).
std::optional<int64_t> first_out_of_range(const Tensor& idx, int64_t bound) {
  Tensor c = idx.contiguous();
  auto scan = [&](const auto* p) -> std::optional<int64_t> {
    for (int64_t i = 0, n = c.numel(); i < n; ++i)
      if (p[i] < 0 || p[i] >= bound) return int64_t(p[i]);
    return std::nullopt;
  };
  return c.dtype() == DType::i32 ? scan(c.data<int32_t>()) : scan(c.data<int64_t>());
}

// Puts idx on `device`. CPU indices are range-checked first (`report` throws for the bad value); device indices are
// trusted, see the header. Indices on another accelerator are an error.
Tensor indices_on(std::string_view op, const Tensor& idx, Device device, int64_t bound,
                  const std::function<void(int64_t)>& report) {
  check_index_dtype(op, idx);
  if (!idx.device().is_cpu()) {
    GLINT_CHECK(idx.device() == device, op, "tensors on different devices: ", device.str(), " and ",
                idx.device().str());
    return idx;
  }
  if (auto bad = first_out_of_range(idx, bound)) report(*bad);
  return idx.to(device);
}

Tensor view(const Tensor& t, const Shape& shape, const Shape& strides) {
  return Tensor(t.storage_ptr(), shape, strides, t.offset(), t.dtype());
}

void report_index(std::string_view op, int dim, int64_t size, int64_t bad) {
  fail(op, "index ", bad, " out of range for dimension ", dim, " of size ", size);
}

}  // namespace

Tensor indexed_base(const Tensor& x, int dim, const Shape& shape) {
  Shape strides = x.strides();
  strides[dim] = 0;
  return view(x, shape, strides);
}

namespace {

Tensor embedding_forward(const Tensor& weight, const Tensor& ids) {
  GLINT_CHECK(weight.ndim() == 2, "embedding", "weight must be 2-d (rows, dim), got shape ", shape_str(weight.shape()));
  GLINT_CHECK(is_floating(weight.dtype()), "embedding", "weight must be f32, f16 or bf16, got ",
              dtype_name(weight.dtype()));
  GLINT_CHECK(ids.ndim() < kMaxDims, "embedding", "ids have ", ids.ndim(), " dims; at most ", kMaxDims - 1);
  const int64_t rows = weight.dim(0), d = weight.dim(1);
  Tensor idx = indices_on("embedding", ids, weight.device(), rows,
                          [&](int64_t bad) { fail("embedding", "id ", bad, " out of range for ", rows, " rows"); });
  Shape shape = ids.shape();
  shape.push_back(d);
  Tensor out = Tensor::empty(shape, weight.dtype(), weight.device());
  if (out.numel() == 0) return out;
  Shape base_strides(shape.size(), 0), idx_strides = idx.strides();
  base_strides.back() = weight.strides()[1];
  idx_strides.push_back(0);
  gather_kernel(out.device(), view(weight, shape, base_strides), view(idx, shape, idx_strides), out,
                weight.strides()[0], rows);
  return out;
}

Tensor concat_forward(const std::vector<Tensor>& xs, int dim) {
  GLINT_CHECK(!xs.empty(), "concat", "needs at least one tensor");
  const Tensor& first = xs.front();
  GLINT_CHECK(first.ndim() > 0, "concat", "cannot concatenate 0-d tensors");
  const int d = norm_dim("concat", dim, first.ndim());
  Shape shape = first.shape();
  shape[d] = 0;
  for (const Tensor& x : xs) {
    check_same_device("concat", first, x);
    GLINT_CHECK(x.dtype() == first.dtype(), "concat", "dtype mismatch: ", dtype_name(first.dtype()), " and ",
                dtype_name(x.dtype()));
    bool same = x.ndim() == first.ndim();
    for (int i = 0; same && i < x.ndim(); ++i) same = i == d || x.shape()[i] == first.shape()[i];
    GLINT_CHECK(same, "concat", "shapes ", shape_str(first.shape()), " and ", shape_str(x.shape()),
                " differ outside dimension ", d);
    shape[d] += x.shape()[d];
  }
  Tensor out = Tensor::empty(shape, first.dtype(), first.device());
  int64_t at = 0;
  for (const Tensor& x : xs) {
    const int64_t n = x.shape()[d];
    if (x.numel() > 0) out.slice(d, at, at + n).copy_from(x);
    at += n;
  }
  return out;
}

Tensor index_select_forward(const Tensor& x, int dim, const Tensor& idx) {
  GLINT_CHECK(x.ndim() > 0, "index_select", "x must have at least one dimension");
  const int d = norm_dim("index_select", dim, x.ndim());
  GLINT_CHECK(idx.ndim() == 1, "index_select", "indices must be 1-d, got shape ", shape_str(idx.shape()));
  const int64_t size = x.dim(d);
  Tensor i = indices_on("index_select", idx, x.device(), size,
                        [&](int64_t bad) { report_index("index_select", d, size, bad); });
  Shape shape = x.shape();
  shape[d] = i.numel();
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  if (out.numel() == 0) return out;
  Shape idx_strides(shape.size(), 0);
  idx_strides[d] = i.strides()[0];
  gather_kernel(out.device(), indexed_base(x, d, shape), view(i, shape, idx_strides), out, x.strides()[d], size);
  return out;
}

Tensor gather_forward(const Tensor& x, int dim, const Tensor& idx) {
  GLINT_CHECK(x.ndim() > 0, "gather", "x must have at least one dimension");
  const int d = norm_dim("gather", dim, x.ndim());
  GLINT_CHECK(idx.ndim() == x.ndim(), "gather", "indices have ", idx.ndim(), " dims but x has ", x.ndim());
  for (int i = 0; i < x.ndim(); ++i)
    GLINT_CHECK(i == d || idx.shape()[i] <= x.shape()[i], "gather", "index shape ", shape_str(idx.shape()),
                " exceeds x's shape ", shape_str(x.shape()), " in dimension ", i);
  const int64_t size = x.dim(d);
  Tensor i = indices_on("gather", idx, x.device(), size, [&](int64_t bad) { report_index("gather", d, size, bad); });
  Tensor out = Tensor::empty(i.shape(), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  gather_kernel(out.device(), indexed_base(x, d, out.shape()), i, out, x.strides()[d], size);
  return out;
}

Tensor scatter_add_forward(const Tensor& x, int dim, const Tensor& idx, const Tensor& src) {
  GLINT_CHECK(x.ndim() > 0, "scatter_add", "x must have at least one dimension");
  const int d = norm_dim("scatter_add", dim, x.ndim());
  const DType dt = x.dtype();
  GLINT_CHECK(is_floating(dt) || dt == DType::i32, "scatter_add", "dtype must be f32, f16, bf16 or i32, got ",
              dtype_name(dt));
  GLINT_CHECK(src.dtype() == dt, "scatter_add", "dtype mismatch: ", dtype_name(dt), " and ", dtype_name(src.dtype()));
  check_same_device("scatter_add", x, src);
  GLINT_CHECK(idx.ndim() == x.ndim() && src.ndim() == x.ndim(), "scatter_add", "x, indices and src must have the same ",
              "number of dims, got ", x.ndim(), ", ", idx.ndim(), " and ", src.ndim());
  for (int i = 0; i < x.ndim(); ++i) {
    GLINT_CHECK(idx.shape()[i] <= src.shape()[i] && (i == d || idx.shape()[i] <= x.shape()[i]), "scatter_add",
                "index shape ", shape_str(idx.shape()), " exceeds src ", shape_str(src.shape()), " or x ",
                shape_str(x.shape()), " in dimension ", i);
  }
  const int64_t size = x.dim(d);
  Tensor i =
      indices_on("scatter_add", idx, x.device(), size, [&](int64_t bad) { report_index("scatter_add", d, size, bad); });
  // Half types accumulate in an f32 copy: one rounding at the end instead of one per update, and 32-bit atomics.
  const DType acc_dt = dt == DType::i32 ? DType::i32 : DType::f32;
  Tensor acc = Tensor::empty(x.shape(), acc_dt, x.device());
  if (acc.numel() == 0) return acc.to(dt);
  acc.copy_from(x);
  if (i.numel() > 0) scatter_add_kernel(acc.device(), acc, d, i.contiguous(), src);
  return acc.to(dt);
}

// Runs forward without recording (it works on views of its inputs) and returns its result.
template <class F>
Tensor untracked(F&& forward) {
  autograd::NoGradGuard no_grad;
  return forward();
}

}  // namespace

Tensor embedding(const Tensor& weight, const Tensor& ids) {
  if (autograd::autocast_dtype()) {
    const Tensor w = autograd::autocast(weight);
    autograd::AutocastGuard off(std::nullopt);
    return embedding(w, ids);
  }
  Tensor out = untracked([&] { return embedding_forward(weight, ids); });
  if (autograd::needs_grad({weight})) {
    // Every looked-up row's gradient added back into its row.
    autograd::record("embedding", out, {weight, ids}, [shape = weight.shape(), ids = ids.detach()](const Tensor& g) {
      const int64_t d = shape[1];
      const Tensor rows = g.reshape({-1, d});
      const Tensor at = ids.reshape({-1, 1}).expand({rows.dim(0), d});
      return autograd::Grads{scatter_add(zeros(shape, g.dtype(), g.device()), 0, at, rows), Tensor()};
    });
  }
  return out;
}

Tensor concat(const std::vector<Tensor>& xs, int dim) {
  Tensor out = untracked([&] { return concat_forward(xs, dim); });
  if (autograd::needs_grad(xs)) {
    std::vector<int64_t> sizes;
    for (const Tensor& x : xs) sizes.push_back(x.dim(dim));
    autograd::record("concat", out, xs, [sizes, dim](const Tensor& g) {
      autograd::Grads grads;
      int64_t at = 0;
      for (int64_t n : sizes) {
        grads.push_back(g.slice(dim, at, at + n));
        at += n;
      }
      return grads;
    });
  }
  return out;
}

Tensor index_select(const Tensor& x, int dim, const Tensor& idx) {
  Tensor out = untracked([&] { return index_select_forward(x, dim, idx); });
  if (autograd::needs_grad({x})) {
    autograd::record("index_select", out, {x, idx}, [shape = x.shape(), dim, idx = idx.detach()](const Tensor& g) {
      Shape along(g.ndim(), 1);
      along[dim < 0 ? dim + g.ndim() : dim] = idx.numel();
      const Tensor at = idx.reshape(along).expand(g.shape());
      return autograd::Grads{scatter_add(zeros(shape, g.dtype(), g.device()), dim, at, g), Tensor()};
    });
  }
  return out;
}

Tensor gather(const Tensor& x, int dim, const Tensor& idx) {
  Tensor out = untracked([&] { return gather_forward(x, dim, idx); });
  if (autograd::needs_grad({x})) {
    autograd::record("gather", out, {x, idx}, [shape = x.shape(), dim, idx = idx.detach()](const Tensor& g) {
      return autograd::Grads{scatter_add(zeros(shape, g.dtype(), g.device()), dim, idx, g), Tensor()};
    });
  }
  return out;
}

Tensor scatter_add(const Tensor& x, int dim, const Tensor& idx, const Tensor& src) {
  Tensor out = untracked([&] { return scatter_add_forward(x, dim, idx, src); });
  if (autograd::needs_grad({x, src})) {
    const bool need_src = src.requires_grad();
    autograd::record("scatter_add", out, {x, idx, src},
                     [dim, idx = idx.detach(), src_shape = src.shape(), need_src](const Tensor& g) {
                       Tensor gs;
                       if (need_src) {  // src positions beyond idx's extent were not read
                         gs = zeros(src_shape, g.dtype(), g.device());
                         Tensor part = gs;
                         for (int i = 0; i < idx.ndim(); ++i) part = part.slice(i, 0, idx.dim(i));
                         part.copy_from(gather(g, dim, idx));
                       }
                       return autograd::Grads{g, Tensor(), gs};
                     });
  }
  return out;
}

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int dim, bool largest, bool sorted) {
  GLINT_CHECK(x.ndim() > 0, "topk", "x must have at least one dimension");
  const int d = norm_dim("topk", dim, x.ndim());
  GLINT_CHECK(is_floating(x.dtype()), "topk", "dtype must be f32, f16 or bf16, got ", dtype_name(x.dtype()));
  GLINT_CHECK(k >= 0 && k <= x.dim(d), "topk", "k = ", k, " out of range for dimension ", d, " of size ", x.dim(d));
  Shape shape = x.shape();
  shape[d] = k;
  Tensor values = Tensor::empty(shape, x.dtype(), x.device());
  Tensor indices = Tensor::empty(shape, DType::i64, x.device());
  if (values.numel() > 0) topk_kernel(x.device(), x, d, k, largest, values, indices);
  return {values, indices};
}

}  // namespace glint
