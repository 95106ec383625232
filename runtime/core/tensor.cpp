#include "runtime/core/tensor.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>
#include <sstream>

#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/copy.h"

namespace glint {

int64_t numel_of(const Shape& s) { return std::accumulate(s.begin(), s.end(), int64_t{1}, std::multiplies<>()); }

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
  os << ")";
  return os.str();
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (int i = int(s.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

namespace {
int norm_dim(int d, int ndim, const char* op) {
  int r = d < 0 ? d + ndim : d;
  GLINT_CHECK(r >= 0 && r < ndim, op, "dimension ", d, " out of range for ", ndim, "-d tensor");
  return r;
}
void check_shape(const Shape& s, const char* op) {
  GLINT_CHECK(s.size() <= size_t(kMaxDims), op, "at most ", kMaxDims, " dimensions, got ", s.size());
  for (auto d : s) GLINT_CHECK(d >= 0, op, "negative dimension in shape ", shape_str(s));
}
}  // namespace

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype)
    : storage_(std::move(storage)), shape_(std::move(shape)), strides_(std::move(strides)), offset_(offset),
      dtype_(dtype) {}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  check_shape(shape, "empty");
  auto st = allocate_storage(device, size_t(numel_of(shape)) * dtype_size(dtype));
  return Tensor(std::move(st), shape, contiguous_strides(shape), 0, dtype);
}

Tensor Tensor::from_bytes(const void* bytes, const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (t.nbytes()) t.storage_->write(0, bytes, t.nbytes());
  return t;
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& v, const Shape& shape, DType dtype, Device device) {
  GLINT_CHECK(int64_t(v.size()) == numel_of(shape), "from_vector", v.size(), " values for shape ", shape_str(shape));
  if (sizeof(T) == dtype_size(dtype) && !(std::is_same_v<T, float> && dtype != DType::f32))
    return from_bytes(v.data(), shape, dtype, device);
  GLINT_CHECK((std::is_same_v<T, float>), "from_vector", "element size does not match ", dtype_name(dtype));
  Tensor f = from_bytes(v.data(), shape, DType::f32, Device::cpu());
  return f.to(dtype).to(device);
}
template Tensor Tensor::from_vector(const std::vector<float>&, const Shape&, DType, Device);
template Tensor Tensor::from_vector(const std::vector<uint16_t>&, const Shape&, DType, Device);
template Tensor Tensor::from_vector(const std::vector<int32_t>&, const Shape&, DType, Device);
template Tensor Tensor::from_vector(const std::vector<int64_t>&, const Shape&, DType, Device);
template Tensor Tensor::from_vector(const std::vector<uint8_t>&, const Shape&, DType, Device);
template Tensor Tensor::from_vector(const std::vector<int8_t>&, const Shape&, DType, Device);

int64_t Tensor::dim(int i) const { return shape_[norm_dim(i, ndim(), "dim")]; }

bool Tensor::is_contiguous() const {
  int64_t acc = 1;
  for (int i = ndim() - 1; i >= 0; --i) {
    if (shape_[i] != 1 && strides_[i] != acc) return false;
    acc *= shape_[i];
  }
  return true;
}

template <class T>
T* Tensor::data() const {
  GLINT_CHECK(device().is_cpu(), "data", "tensor is on ", device().str(), ", not the CPU");
  return reinterpret_cast<T*>(storage_->host_data() + offset_ * int64_t(dtype_size(dtype_)));
}
template float* Tensor::data() const;
template uint16_t* Tensor::data() const;
template int32_t* Tensor::data() const;
template int64_t* Tensor::data() const;
template uint8_t* Tensor::data() const;
template int8_t* Tensor::data() const;
template std::byte* Tensor::data() const;
template void* Tensor::data() const;

std::string Tensor::str() const {
  std::ostringstream os;
  os << dtype_name(dtype_) << "[";
  for (int i = 0; i < ndim(); ++i) os << (i ? "," : "") << shape_[i];
  os << "] on " << device().str();
  return os.str();
}

Tensor Tensor::slice(int d, int64_t start, int64_t end, int64_t step) const {
  d = norm_dim(d, ndim(), "slice");
  int64_t n = shape_[d];
  GLINT_CHECK(step > 0, "slice", "step must be positive, got ", step);
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Tensor r = detach();
  r.shape_[d] = (end - start + step - 1) / step;
  r.offset_ += start * strides_[d];
  r.strides_[d] *= step;
  return record_view("slice", r, [shape = shape_, d, start, end, step](const Tensor& g) {
    Tensor z = zeros(shape, g.dtype(), g.device());
    z.slice(d, start, end, step).copy_from(g);
    return z;
  });
}

Tensor Tensor::select(int d, int64_t index) const {
  d = norm_dim(d, ndim(), "select");
  if (index < 0) index += shape_[d];
  GLINT_CHECK(index >= 0 && index < shape_[d], "select", "index ", index, " out of range for size ", shape_[d]);
  Tensor r = detach();
  r.offset_ += index * strides_[d];
  r.shape_.erase(r.shape_.begin() + d);
  r.strides_.erase(r.strides_.begin() + d);
  return record_view("select", r, [shape = shape_, d, index](const Tensor& g) {
    Tensor z = zeros(shape, g.dtype(), g.device());
    z.select(d, index).copy_from(g);
    return z;
  });
}

Tensor Tensor::transpose(int a, int b) const {
  a = norm_dim(a, ndim(), "transpose");
  b = norm_dim(b, ndim(), "transpose");
  Tensor r = detach();
  std::swap(r.shape_[a], r.shape_[b]);
  std::swap(r.strides_[a], r.strides_[b]);
  return record_view("transpose", r, [a, b](const Tensor& g) { return g.transpose(a, b); });
}

Tensor Tensor::permute(const std::vector<int>& dims) const {
  GLINT_CHECK(int(dims.size()) == ndim(), "permute", "got ", dims.size(), " dims for a ", ndim(), "-d tensor");
  Tensor r = detach();
  std::vector<int> inverse(ndim(), -1);
  for (int i = 0; i < ndim(); ++i) {
    int d = norm_dim(dims[i], ndim(), "permute");
    GLINT_CHECK(inverse[d] < 0, "permute", "dimension ", d, " repeated");
    inverse[d] = i;
    r.shape_[i] = shape_[d];
    r.strides_[i] = strides_[d];
  }
  return record_view("permute", r, [inverse](const Tensor& g) { return g.permute(inverse); });
}

Tensor Tensor::expand(const Shape& shape) const {
  check_shape(shape, "expand");
  GLINT_CHECK(shape.size() >= shape_.size(), "expand", "cannot expand ", shape_str(shape_), " to ", shape_str(shape));
  Tensor r = detach();
  size_t lead = shape.size() - shape_.size();
  r.shape_ = shape;
  r.strides_.assign(shape.size(), 0);
  for (size_t i = 0; i < shape_.size(); ++i) {
    if (shape_[i] == shape[lead + i]) {
      r.strides_[lead + i] = strides_[i];
    } else {
      GLINT_CHECK(shape_[i] == 1, "expand", "cannot expand ", shape_str(shape_), " to ", shape_str(shape));
    }
  }
  return record_view("expand", r, [shape = shape_](const Tensor& g) { return autograd::sum_to(g, shape); });
}

Tensor Tensor::unsqueeze(int d) const {
  d = norm_dim(d, ndim() + 1, "unsqueeze");
  GLINT_CHECK(ndim() < kMaxDims, "unsqueeze", "at most ", kMaxDims, " dimensions");
  Tensor r = detach();
  int64_t st = d < ndim() ? strides_[d] * shape_[d] : 1;
  r.shape_.insert(r.shape_.begin() + d, 1);
  r.strides_.insert(r.strides_.begin() + d, st);
  return record_view("unsqueeze", r, [d](const Tensor& g) { return g.squeeze(d); });
}

Tensor Tensor::squeeze(int d) const {
  d = norm_dim(d, ndim(), "squeeze");
  GLINT_CHECK(shape_[d] == 1, "squeeze", "dimension ", d, " has size ", shape_[d], ", not 1");
  return record_view("squeeze", detach().select(d, 0), [d](const Tensor& g) { return g.unsqueeze(d); });
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      GLINT_CHECK(infer < 0, "reshape", "only one dimension may be -1 in ", shape_str(shape));
      infer = int(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    GLINT_CHECK(known > 0 && numel() % known == 0, "reshape", "cannot reshape ", shape_str(shape_), " to ",
                shape_str(shape));
    s[infer] = numel() / known;
  }
  check_shape(s, "reshape");
  GLINT_CHECK(numel_of(s) == numel(), "reshape", "cannot reshape ", shape_str(shape_), " (", numel(),
              " elements) to ", shape_str(s));
  // A view exists when each run of old dims that is contiguous in memory maps onto whole new dims
  // (the stride rule torch.view uses).
  std::optional<Shape> st = view_strides(s);
  if (!st) return contiguous().reshape(s);
  Tensor r = detach();
  r.shape_ = s;
  r.strides_ = *st;
  return record_view("reshape", r, [shape = shape_](const Tensor& g) { return g.reshape(shape); });
}

std::optional<Shape> Tensor::view_strides(const Shape& s) const {
  if (ndim() == 0 || numel() == 0) return contiguous_strides(s);
  Shape st(s.size());
  int view_d = int(s.size()) - 1;
  int64_t chunk_base = strides_.back(), tensor_numel = 1, view_numel = 1;
  for (int d = ndim() - 1; d >= 0; --d) {
    tensor_numel *= shape_[d];
    if (d == 0 || (shape_[d - 1] != 1 && strides_[d - 1] != tensor_numel * chunk_base)) {
      while (view_d >= 0 && (view_numel < tensor_numel || s[view_d] == 1)) {
        st[view_d] = view_numel * chunk_base;
        view_numel *= s[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base = strides_[d - 1];
        tensor_numel = view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return st;
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
  Tensor out = empty(shape_, dtype_, device());
  out.copy_from(detach());
  return record_view("clone", out, [](const Tensor& g) { return g; });
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  Tensor out = empty(shape_, dtype, device());
  out.copy_from(detach());
  return record_view("to", out, [from = dtype_](const Tensor& g) { return g.to(from); });
}

Tensor Tensor::to(Device dev) const {
  if (dev == device()) return *this;
  if (autograd::needs_grad({*this}))
    return record_view("to", detach().to(dev), [from = device()](const Tensor& g) { return g.to(from); });
  Tensor src = contiguous();
  Tensor out = empty(shape_, dtype_, dev);
  size_t n = out.nbytes();
  if (n == 0) return out;
  size_t src_off = size_t(src.offset_) * dtype_size(dtype_);
  if (std::byte* p = out.storage_->host_data()) {
    src.storage_->read(src_off, p, n);
  } else if (std::byte* q = src.storage_->host_data()) {
    out.storage_->write(0, q + src_off, n);
  } else {  // device to device: through the host
    std::vector<std::byte> host(n);
    src.storage_->read(src_off, host.data(), n);
    out.storage_->write(0, host.data(), n);
  }
  return out;
}

void Tensor::copy_from(const Tensor& src) {
  GLINT_CHECK(src.shape_ == shape_, "copy", "shape ", shape_str(src.shape_), " into ", shape_str(shape_));
  GLINT_CHECK(!autograd::needs_grad({*this, src}), "copy",
              "an in-place copy is not differentiable: detach() the tensors or copy under autograd::NoGradGuard");
  if (numel() == 0) return;
  const Tensor s = src.device() == device() ? src : src.to(device());
  copy_kernel(device(), s, *this);
}

bool Tensor::requires_grad() const { return autograd_ && (autograd_->requires_grad || autograd_->grad_fn); }

Tensor& Tensor::requires_grad_(bool on) {
  GLINT_CHECK(!autograd_ || !autograd_->grad_fn, "requires_grad_",
              "only leaf tensors can be marked; this one is the result of ", autograd_->grad_fn->name);
  GLINT_CHECK(!on || is_floating(dtype_), "requires_grad_", "only floating tensors take gradients, not ",
              dtype_name(dtype_));
  ensure_autograd_meta();
  autograd_->requires_grad = on;
  return *this;
}

bool Tensor::is_leaf() const { return !autograd_ || !autograd_->grad_fn; }

Tensor Tensor::grad() const { return autograd_ ? autograd_->grad : Tensor(); }

void Tensor::set_grad(Tensor grad) {
  GLINT_CHECK(!grad.defined() || grad.shape() == shape_, "set_grad", "gradient of shape ", shape_str(grad.shape()),
              " for a tensor of shape ", shape_str(shape_));
  ensure_autograd_meta();
  autograd_->grad = std::move(grad);
}

Tensor Tensor::detach() const {
  Tensor r = *this;
  r.autograd_.reset();
  return r;
}

void Tensor::backward() const { autograd::backward(*this); }

void Tensor::backward(const Tensor& grad, bool retain_graph) const { autograd::backward(*this, grad, retain_graph); }

void Tensor::ensure_autograd_meta() {
  if (!autograd_) autograd_ = std::make_shared<autograd::Meta>();
}

Tensor Tensor::record_view(const char* name, Tensor view, std::function<Tensor(const Tensor&)> backward) const {
  if (autograd::needs_grad({*this}))
    autograd::record(name, view, {*this},
                     [backward = std::move(backward)](const Tensor& g) { return autograd::Grads{backward(g)}; });
  return view;
}

void Tensor::read_bytes(void* dst) const {
  Tensor c = contiguous();
  if (nbytes()) c.storage_->read(size_t(c.offset_) * dtype_size(dtype_), dst, nbytes());
}

std::vector<float> Tensor::to_f32() const {
  std::vector<float> v(static_cast<size_t>(numel()));
  Tensor f = to(DType::f32);
  f.read_bytes(v.data());
  return v;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  GLINT_CHECK(sizeof(T) == dtype_size(dtype_), "to_vector", "element size does not match ", dtype_name(dtype_));
  std::vector<T> v(static_cast<size_t>(numel()));
  read_bytes(v.data());
  return v;
}
template std::vector<float> Tensor::to_vector() const;
template std::vector<uint16_t> Tensor::to_vector() const;
template std::vector<int32_t> Tensor::to_vector() const;
template std::vector<int64_t> Tensor::to_vector() const;
template std::vector<uint8_t> Tensor::to_vector() const;
template std::vector<int8_t> Tensor::to_vector() const;

Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = Tensor::empty(shape, dtype, device);
  if (t.numel()) fill_kernel(device, t, value);
  return t;
}

Tensor arange(int64_t n, DType dtype, Device device) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), int64_t{0});
  return Tensor::from_vector(v, {n}, DType::i64, Device::cpu()).to(dtype).to(device);
}

}  // namespace glint
