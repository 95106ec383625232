#include "runtime/ops/matmul.h"

#include <algorithm>
#include <optional>

#include "runtime/autograd/autocast.h"
#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/reduce.h"

namespace glint {
namespace {

void check_operand(const char* op, const Tensor& t, const char* what) {
  GLINT_CHECK(t.defined(), op, what, " is an undefined tensor");
  GLINT_CHECK(is_floating(t.dtype()), op, "unsupported dtype ", dtype_name(t.dtype()), " for ", what,
              " (f32, f16 or bf16)");
}

void check_same(const char* op, const Tensor& a, const Tensor& b) {
  GLINT_CHECK(a.device() == b.device(), op, "tensors on different devices: ", a.device().str(), " and ",
              b.device().str());
  GLINT_CHECK(a.dtype() == b.dtype(), op, "dtype mismatch: ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
}

// `t` with the strides of its last two dims (rows, cols) set to a layout matmul_kernel takes (see matmul.h):
// row-major (cols stride 1, rows stride >= cols) or column-major; size-1 dims may take any stride, so they get the
// one that fits. Anything else (both strides != 1, overlapping rows, broadcast rows) is copied to contiguous, once
// per distinct matrix: broadcast batch dims stay broadcast.
Tensor gemm_layout(const Tensor& t) {
  const int nd = t.ndim();
  const int64_t rows = t.shape()[nd - 2], cols = t.shape()[nd - 1];
  int64_t rs = t.strides()[nd - 2], cs = t.strides()[nd - 1];
  const int64_t row_rs = rows == 1 ? cols : rs, col_cs = cols == 1 ? rows : cs;
  if ((cols == 1 || cs == 1) && row_rs >= cols) {
    rs = row_rs, cs = 1;
  } else if ((rows == 1 || rs == 1) && col_cs >= rows) {
    rs = 1, cs = col_cs;
  } else {
    Tensor base = t;
    for (int d = 0; d < nd - 2; ++d)
      if (t.strides()[d] == 0) base = base.slice(d, 0, 1);
    return gemm_layout(base.contiguous().expand(t.shape()));
  }
  Shape strides = t.strides();
  strides[nd - 2] = rs, strides[nd - 1] = cs;
  return Tensor(t.storage_ptr(), t.shape(), strides, t.offset(), t.dtype());
}

// a (batch..., M, K) as one (batch*M, K) matrix, when its batch and row dims step through memory evenly.
std::optional<Tensor> fold_rows(const Tensor& a) {
  const int nd = a.ndim();
  int64_t rows = 1, rs = 0;
  for (int d = nd - 2; d >= 0; --d) {
    const int64_t n = a.shape()[d], s = a.strides()[d];
    if (n == 1) continue;
    if (rows == 1)
      rs = s;
    else if (s != rs * rows)
      return std::nullopt;
    rows *= n;
  }
  const int64_t k = a.shape()[nd - 1];
  return Tensor(a.storage_ptr(), {rows, k}, {rows == 1 ? k : rs, a.strides()[nd - 1]}, a.offset(), a.dtype());
}

// c (batch..., M, N) = a (batch..., M, K) @ b (batch..., K, N) + bias (N) for operands already broadcast to one
// batch shape and checked.
Tensor gemm(const Tensor& a_in, const Tensor& b_in, const Tensor& bias) {
  const int nd = a_in.ndim();
  const int64_t m = a_in.shape()[nd - 2], k = a_in.shape()[nd - 1], n = b_in.shape()[nd - 1];
  Shape out(a_in.shape().begin(), a_in.shape().end() - 2);
  const int64_t batch = numel_of(out);
  out.push_back(m);
  out.push_back(n);
  if (numel_of(out) == 0) return Tensor::empty(out, a_in.dtype(), a_in.device());
  if (k == 0)  // an empty sum: zeros, plus the bias
    return bias.defined() ? bias.expand(out).contiguous() : zeros(out, a_in.dtype(), a_in.device());
  Tensor c = Tensor::empty(out, a_in.dtype(), a_in.device());
  Tensor a = a_in, b = b_in, cv = c;
  // A b shared by the whole batch (x @ W): one GEMM over all rows of a is far better than `batch` small ones.
  bool b_shared = true;
  for (int d = 0; d < nd - 2; ++d) b_shared = b_shared && (b.strides()[d] == 0 || b.shape()[d] == 1);
  if (batch > 1 && b_shared) {
    if (std::optional<Tensor> folded = fold_rows(a_in)) {
      a = *folded;
      while (b.ndim() > 2) b = b.select(0, 0);
      cv = c.reshape({batch * m, n});
    }
  }
  matmul_kernel(c.device(), gemm_layout(a), gemm_layout(b), bias.defined() ? bias.contiguous() : bias, cv);
  return c;
}

Tensor matmul_forward(const Tensor& a, const Tensor& b) {
  check_operand("matmul", a, "a");
  check_operand("matmul", b, "b");
  check_same("matmul", a, b);
  GLINT_CHECK(a.ndim() >= 1 && b.ndim() >= 1, "matmul", "0-d operand: ", shape_str(a.shape()), " @ ",
              shape_str(b.shape()), " (use mul for scalars)");
  // A vector is a (1, K) row on the left and a (K, 1) column on the right; its dim is dropped from the result.
  const Tensor a2 = a.ndim() == 1 ? a.unsqueeze(0) : a;
  const Tensor b2 = b.ndim() == 1 ? b.unsqueeze(1) : b;
  const int64_t m = a2.dim(-2), k = a2.dim(-1), n = b2.dim(-1);
  GLINT_CHECK(b2.dim(-2) == k, "matmul", "inner dimensions differ: ", shape_str(a.shape()), " @ ",
              shape_str(b.shape()));
  // Broadcast the batch dims (all but the last two), numpy style.
  const int na = a2.ndim() - 2, nb = b2.ndim() - 2, nbatch = std::max(na, nb);
  Shape batch(size_t(nbatch), 1);
  for (int i = 0; i < nbatch; ++i) {
    const int64_t da = i - (nbatch - na) >= 0 ? a2.shape()[i - (nbatch - na)] : 1;
    const int64_t db = i - (nbatch - nb) >= 0 ? b2.shape()[i - (nbatch - nb)] : 1;
    GLINT_CHECK(da == db || da == 1 || db == 1, "matmul", "batch dimensions do not broadcast: ", shape_str(a.shape()),
                " @ ", shape_str(b.shape()));
    batch[i] = da == 1 ? db : da;
  }
  GLINT_CHECK(nbatch + 2 <= kMaxDims, "matmul", "at most ", kMaxDims, " dimensions, got ", shape_str(a.shape()), " @ ",
              shape_str(b.shape()));
  Shape sa = batch, sb = batch, result = batch;
  sa.insert(sa.end(), {m, k});
  sb.insert(sb.end(), {k, n});
  if (a.ndim() > 1) result.push_back(m);
  if (b.ndim() > 1) result.push_back(n);
  return gemm(a2.expand(sa), b2.expand(sb), {}).reshape(result);
}

Tensor linear_forward(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_operand("linear", x, "x");
  check_operand("linear", weight, "weight");
  check_same("linear", x, weight);
  GLINT_CHECK(weight.ndim() == 2, "linear", "weight must be 2-D (out, in), got ", shape_str(weight.shape()));
  GLINT_CHECK(x.ndim() >= 1, "linear", "x must have at least 1 dimension, got a 0-d tensor");
  const int64_t in = weight.dim(1), out = weight.dim(0);
  GLINT_CHECK(x.dim(-1) == in, "linear", "x ", shape_str(x.shape()), " has ", x.dim(-1), " features but weight ",
              shape_str(weight.shape()), " takes ", in);
  if (bias.defined()) {
    check_operand("linear", bias, "bias");
    check_same("linear", x, bias);
    GLINT_CHECK(bias.ndim() == 1 && bias.dim(0) == out, "linear", "bias ", shape_str(bias.shape()),
                " does not match weight ", shape_str(weight.shape()), ": expected (", out, ")");
  }
  const Tensor x2 = x.ndim() == 1 ? x.unsqueeze(0) : x;
  Shape sw(x2.shape().begin(), x2.shape().end() - 2), result(x.shape().begin(), x.shape().end() - 1);
  sw.insert(sw.end(), {in, out});
  result.push_back(out);
  return gemm(x2, weight.transpose(0, 1).expand(sw), bias).reshape(result);
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (autograd::autocast_dtype()) {
    const Tensor a2 = autograd::autocast(a), b2 = autograd::autocast(b);
    autograd::AutocastGuard off(std::nullopt);
    return matmul(a2, b2);
  }
  if (!autograd::needs_grad({a, b})) return matmul_forward(a, b);
  Tensor out;
  {
    autograd::NoGradGuard no_grad;
    out = matmul_forward(a, b);
  }
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  autograd::record("matmul", out, {a, b}, [x = a.detach(), y = b.detach(), need_a, need_b](const Tensor& g) {
    // In the promoted (..., M, K) @ (..., K, N) form, then summed over broadcast batch dims and unpromoted.
    const Tensor x2 = x.ndim() == 1 ? x.unsqueeze(0) : x, y2 = y.ndim() == 1 ? y.unsqueeze(1) : y;
    Tensor g2 = g;
    if (x.ndim() == 1) g2 = g2.unsqueeze(y.ndim() == 1 ? 0 : -2);
    if (y.ndim() == 1) g2 = g2.unsqueeze(-1);
    autograd::Grads grads(2);
    if (need_a) grads[0] = autograd::sum_to(matmul(g2, y2.transpose(-1, -2)), x2.shape()).reshape(x.shape());
    if (need_b) grads[1] = autograd::sum_to(matmul(x2.transpose(-1, -2), g2), y2.shape()).reshape(y.shape());
    return grads;
  });
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (autograd::autocast_dtype()) {
    const Tensor x2 = autograd::autocast(x), w2 = autograd::autocast(weight), b2 = autograd::autocast(bias);
    autograd::AutocastGuard off(std::nullopt);
    return linear(x2, w2, b2);
  }
  if (!autograd::needs_grad({x, weight, bias})) return linear_forward(x, weight, bias);
  Tensor out;
  {
    autograd::NoGradGuard no_grad;
    out = linear_forward(x, weight, bias);
  }
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad(), need_b = bias.requires_grad();
  autograd::record("linear", out, {x, weight, bias},
                   [xs = x.detach(), w = weight.detach(), need_x, need_w, need_b](const Tensor& g) {
                     // Rows of every batch position at once: (R, out) and (R, in).
                     const int64_t in = w.dim(1), out_features = w.dim(0);
                     const Tensor g2 = g.reshape({-1, out_features});
                     autograd::Grads grads(3);
                     if (need_x) grads[0] = matmul(g, w);
                     if (need_w) grads[1] = matmul(g2.transpose(0, 1), xs.reshape({-1, in}));
                     if (need_b) grads[2] = sum(g2, 0);
                     return grads;
                   });
  return out;
}

}  // namespace glint
