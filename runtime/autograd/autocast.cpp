#include "runtime/autograd/autocast.h"

#include "runtime/core/error.h"

namespace glint::autograd {
namespace {

thread_local std::optional<DType> g_autocast;

}  // namespace

std::optional<DType> autocast_dtype() { return g_autocast; }

AutocastGuard::AutocastGuard(std::optional<DType> dtype) : previous_(g_autocast) {
  GLINT_CHECK(!dtype || *dtype == DType::bf16 || *dtype == DType::f16, "autocast",
              "the compute dtype must be bf16 or f16, not ", dtype_name(*dtype));
  g_autocast = dtype;
}

AutocastGuard::~AutocastGuard() { g_autocast = previous_; }

Tensor autocast(const Tensor& t) {
  if (!g_autocast || !t.defined() || t.dtype() != DType::f32) return t;
  return t.to(*g_autocast);
}

}  // namespace glint::autograd
