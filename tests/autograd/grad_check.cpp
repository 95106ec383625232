#include "tests/autograd/grad_check.h"

#include <cmath>

#include "runtime/autograd/autograd.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/reduce.h"
#include "tests/harness.h"

namespace glint::test {
namespace {

// The scalar the checks differentiate: every output element weighted by a fixed random factor.
Tensor weighted_sum(const Tensor& y) {
  const Tensor w = rand(y.shape(), DType::f32, Device::cpu(), 99).to(y.device());
  return sum_all(y.to(DType::f32) * w);
}

double loss_value(const GradFn& fn, const std::vector<Tensor>& inputs) {
  autograd::NoGradGuard no_grad;
  return double(weighted_sum(fn(inputs)).to_f32()[0]);
}

}  // namespace

std::vector<Tensor> grads_on(const GradFn& fn, const std::vector<Tensor>& inputs, const std::vector<bool>& differentiable,
                             Device device) {
  std::vector<Tensor> leaves;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor t = inputs[i].to(device).clone().detach();
    if (differentiable[i]) t.requires_grad_();
    leaves.push_back(t);
  }
  weighted_sum(fn(leaves)).backward();
  std::vector<Tensor> grads;
  for (size_t i = 0; i < leaves.size(); ++i) grads.push_back(differentiable[i] ? leaves[i].grad() : Tensor());
  return grads;
}

void check_gradients(const GradFn& fn, const std::vector<Tensor>& inputs, std::vector<bool> differentiable) {
  if (differentiable.empty()) {
    for (const Tensor& t : inputs) differentiable.push_back(is_floating(t.dtype()));
  }
  const std::vector<Tensor> cpu = grads_on(fn, inputs, differentiable, Device::cpu());
  constexpr double kStep = 1e-2;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!differentiable[i]) continue;
    ASSERT_TRUE(cpu[i].defined()) << "input " << i << " received no gradient";
    ASSERT_EQ(cpu[i].shape(), inputs[i].shape());
    const std::vector<float> analytic = cpu[i].to_f32();
    std::vector<float> x = inputs[i].to_f32();
    for (size_t j = 0; j < x.size(); ++j) {
      const float keep = x[j];
      std::vector<Tensor> probe = inputs;
      x[j] = keep + float(kStep);
      probe[i] = Tensor::from_vector(x, inputs[i].shape(), DType::f32, Device::cpu());
      const double up = loss_value(fn, probe);
      x[j] = keep - float(kStep);
      probe[i] = Tensor::from_vector(x, inputs[i].shape(), DType::f32, Device::cpu());
      const double down = loss_value(fn, probe);
      x[j] = keep;
      const double numeric = (up - down) / (2 * kStep);
      EXPECT_NEAR(analytic[j], numeric, 2e-3 + 2e-2 * std::fabs(numeric)) << "input " << i << " element " << j;
    }
  }
  for (const Device& device : test_devices()) {
    if (device == Device::cpu()) continue;
    const std::vector<Tensor> got = grads_on(fn, inputs, differentiable, device);
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!differentiable[i]) continue;
      ASSERT_TRUE(got[i].defined()) << device.str() << ": input " << i << " received no gradient";
      EXPECT_CLOSE(got[i].to(Device::cpu()), cpu[i], Tol{1e-4, 1e-4}) << device.str() << ": input " << i;
    }
  }
}

}  // namespace glint::test
