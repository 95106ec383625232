// swiglu(gate, up) against the two ops it fuses, silu(gate) * up: the CPU kernel does their arithmetic, so the
// value and both gradients must match bit for bit (f32); other dtypes, broadcasting shapes and devices without a
// kernel take the composite, which the second test checks against a naive loop.
#include <cmath>

#include "runtime/ops/elementwise.h"
#include "runtime/ops/swiglu.h"
#include "tests/harness.h"

namespace glint::test {
namespace {

constexpr Tol kExact{0, 0};

TEST(Swiglu, CpuKernelIsBitIdenticalToSiluTimesUp) {
  // Enough elements for several OpenMP chunks; gate spans the saturated ends of the sigmoid.
  const Tensor gate = rand({3, 70, 300}, DType::f32, Device::cpu(), 1, -12.f, 12.f);
  const Tensor up = rand({3, 70, 300}, DType::f32, Device::cpu(), 2, -2.f, 2.f);
  const Tensor g = rand({3, 70, 300}, DType::f32, Device::cpu(), 3, -1.f, 1.f);
  const Tensor a1 = gate.detach().requires_grad_(), b1 = up.detach().requires_grad_();
  const Tensor a2 = gate.detach().requires_grad_(), b2 = up.detach().requires_grad_();
  const Tensor fused = swiglu(a1, b1), composite = silu(a2) * b2;
  EXPECT_CLOSE(fused, composite, kExact);
  fused.backward(g);
  composite.backward(g);
  EXPECT_CLOSE(a1.grad(), a2.grad(), kExact);
  EXPECT_CLOSE(b1.grad(), b2.grad(), kExact);
}

TEST(Swiglu, MatchesNaiveLoopOnEveryDevice) {
  const Tensor gate = rand({5, 33}, DType::f32, Device::cpu(), 4, -4.f, 4.f);
  const Tensor up = rand({5, 33}, DType::f32, Device::cpu(), 5, -2.f, 2.f);
  for (DType dt : {DType::f32, DType::bf16}) {
    // The reference reads the inputs as the dtype holds them.
    const std::vector<float> gv = gate.to(dt).to_f32(), uv = up.to(dt).to_f32();
    std::vector<float> want(gv.size());
    for (size_t i = 0; i < gv.size(); ++i) want[i] = float(gv[i] / (1 + std::exp(-double(gv[i]))) * uv[i]);
    for (Device dev : test_devices()) {
      SCOPED_TRACE(dev.str() + " " + std::string(dtype_name(dt)));
      const Tensor got = swiglu(gate.to(dt).to(dev), up.to(dt).to(dev));
      EXPECT_EQ(got.dtype(), dt);
      EXPECT_CLOSE(got.to(DType::f32), want, tol(dt));
    }
  }
}

}  // namespace
}  // namespace glint::test
