// Tensor: a cheap handle onto shared Storage with shape, strides (in elements), offset and dtype.
// Views (slice, transpose, permute, reshape, expand) share storage and copy nothing.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/core/device.h"
#include "runtime/core/dtype.h"
#include "runtime/core/storage.h"

namespace glint {

namespace autograd {
struct Meta;
}

using Shape = std::vector<int64_t>;
inline constexpr int kMaxDims = 8;

int64_t numel_of(const Shape& s);
std::string shape_str(const Shape& s);
Shape contiguous_strides(const Shape& s);

class Tensor {
 public:
  Tensor() = default;
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype);

  // An uninitialised contiguous tensor.
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = default_device());
  // A contiguous tensor holding a copy of `bytes` (numel * dtype_size bytes).
  static Tensor from_bytes(const void* bytes, const Shape& shape, DType dtype, Device device = default_device());
  // From host values; T must match dtype's size (float for f32, uint16_t for f16/bf16, int32_t, ...),
  // or be float, which is converted to dtype.
  template <class T>
  static Tensor from_vector(const std::vector<T>& v, const Shape& shape, DType dtype, Device device = default_device());

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t dim(int i) const;  // negative i counts from the end
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return numel_of(shape_); }
  int64_t offset() const { return offset_; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;
  Storage& storage() const { return *storage_; }
  const std::shared_ptr<Storage>& storage_ptr() const { return storage_; }
  // CPU tensors only: pointer to element [0,...,0].
  template <class T>
  T* data() const;
  std::string str() const;  // "f32[2,3] on vulkan:0"

  // Views (no copy).
  Tensor slice(int dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int dim, int64_t index) const;  // drops `dim`
  Tensor transpose(int a, int b) const;
  Tensor permute(const std::vector<int>& dims) const;
  Tensor expand(const Shape& shape) const;  // broadcast size-1 / new leading dims to `shape`
  Tensor unsqueeze(int dim) const;
  Tensor squeeze(int dim) const;
  // A view when strides allow it, otherwise a contiguous copy. One dimension may be -1.
  Tensor reshape(const Shape& shape) const;
  Tensor flatten() const { return reshape({-1}); }

  // Copies.
  Tensor contiguous() const;          // itself when already contiguous
  Tensor clone() const;               // always a new contiguous tensor
  Tensor to(Device device) const;     // itself when already there
  Tensor to(DType dtype) const;       // cast; itself when already that dtype
  void copy_from(const Tensor& src);  // same shape; any device / dtype; writes into this (possibly strided) view

  // Host access (synchronises the device). to_f32 converts from any dtype.
  std::vector<float> to_f32() const;
  template <class T>
  std::vector<T> to_vector() const;  // T's size must match dtype
  void read_bytes(void* dst) const;   // numel * dtype_size bytes, in logical (row-major) order

  // Autograd (runtime/autograd/autograd.h). Handles of one tensor share its autograd state; views do not.
  // True for a leaf marked with requires_grad_ and for the result of a recorded op.
  bool requires_grad() const;
  // Marks (or unmarks) a leaf whose gradient backward() accumulates (torch.Tensor.requires_grad_).
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const;
  // The gradient accumulated by backward() (leaves only); undefined before the first backward or after set_grad({}).
  Tensor grad() const;
  void set_grad(Tensor grad);
  // The same data outside the graph: no gradient flows through it.
  Tensor detach() const;
  // autograd::backward(*this, grad); without a grad, a one-element tensor is seeded with 1.
  void backward() const;
  void backward(const Tensor& grad, bool retain_graph = false) const;
  // Gives the handle autograd state up front, so copies taken now (a module's weights) share a later requires_grad_.
  void ensure_autograd_meta();
  const std::shared_ptr<autograd::Meta>& autograd_meta() const { return autograd_; }
  void set_autograd_meta(std::shared_ptr<autograd::Meta> meta) { autograd_ = std::move(meta); }

 private:
  std::optional<Shape> view_strides(const Shape& shape) const;
  // The result of view op `name`: records its backward when this tensor requires grad.
  Tensor record_view(const char* name, Tensor view, std::function<Tensor(const Tensor&)> backward) const;

  std::shared_ptr<Storage> storage_;
  Shape shape_, strides_;
  int64_t offset_ = 0;
  DType dtype_ = DType::f32;
  std::shared_ptr<autograd::Meta> autograd_;
};

// Creation.
Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = default_device());
Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = default_device());
Tensor arange(int64_t n, DType dtype = DType::i64, Device device = default_device());

}  // namespace glint
