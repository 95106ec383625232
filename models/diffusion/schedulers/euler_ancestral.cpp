// EulerAncestralDiscreteScheduler: an Euler step down to sigma_down, then fresh Gaussian noise of std sigma_up, with
// sigma_up^2 = sigma_to^2 (sigma_from^2 - sigma_to^2) / sigma_from^2 and sigma_down^2 = sigma_to^2 - sigma_up^2, so
// the latents land at noise level sigma_to (an ancestral sampler: stochastic, like DDPM).
#include <cmath>

#include "models/diffusion/schedulers/euler.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"

namespace glint::diffusion::detail {
namespace {

class EulerAncestralDiscreteScheduler final : public EulerDiscreteScheduler {
 public:
  explicit EulerAncestralDiscreteScheduler(const io::JsonFile& c)
      : EulerDiscreteScheduler(c, false, {"epsilon", "v_prediction"}) {}

  std::string_view class_name() const override { return "EulerAncestralDiscreteScheduler"; }
  bool needs_noise() const override { return true; }

  SchedulerStep step(const Tensor& model_output, double t, const Tensor& sample, const Tensor& noise) override {
    check_ready("step");
    GLINT_CHECK(noise.defined() && noise.shape() == sample.shape(), "scheduler",
                "EulerAncestralDiscreteScheduler: step needs noise shaped like the sample ", sample.str(), ", got ",
                noise.defined() ? noise.str() : "none");
    const int64_t i = step_index(t);
    const double from = sigmas_[size_t(i)], to = sigmas_[size_t(i + 1)];
    const double up = std::sqrt(to * to * (from * from - to * to) / (from * from));
    const double down = std::sqrt(to * to - up * up);
    const Tensor x = compute_dtype(sample), out = compute_dtype(model_output);
    const Tensor x0 = predict_original(x, out, from);
    const Tensor prev = x + (x - x0) / from * (down - from) + compute_dtype(noise) * up;
    ++step_index_;
    return {prev.to(model_output.dtype()), x0.to(model_output.dtype())};
  }
};

}  // namespace

std::unique_ptr<Scheduler> make_euler_ancestral(const io::JsonFile& c) {
  return std::make_unique<EulerAncestralDiscreteScheduler>(c);
}

}  // namespace glint::diffusion::detail
