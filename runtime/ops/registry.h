// OpTable: one per op, holding a kernel per device kind. Ops call table(device, args...); backends register
// their kernels beside their implementation with `const OpRegistration reg(table, DeviceKind::vulkan, fn);`.
#pragma once
#include <array>

#include "runtime/core/device.h"
#include "runtime/core/error.h"

namespace glint {

template <class Sig>
class OpTable;

template <class R, class... Args>
class OpTable<R(Args...)> {
 public:
  using Fn = R (*)(Args...);
  constexpr explicit OpTable(const char* name) : name_(name) {}
  const char* name() const { return name_; }
  void set(DeviceKind kind, Fn fn) { fns_[static_cast<int>(kind)] = fn; }
  bool supports(DeviceKind kind) const { return fns_[static_cast<int>(kind)] != nullptr; }
  R operator()(Device device, Args... args) const {
    Fn fn = fns_[static_cast<int>(device.kind)];
    if (!fn) fail(name_, "no kernel for ", device.str());
    return fn(static_cast<Args>(args)...);
  }

 private:
  const char* name_;
  std::array<Fn, kDeviceKinds> fns_{};
};

struct OpRegistration {
  template <class Table, class Fn>
  OpRegistration(Table& table, DeviceKind kind, Fn fn) {
    table.set(kind, fn);
  }
};

}  // namespace glint
